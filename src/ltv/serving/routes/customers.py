"""GET /v1/customers/{id}: the prediction plus the stored features."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from ltv.serving.deps import get_state
from ltv.serving.jsonable import jsonable_features
from ltv.serving.schemas import CustomerResponse
from ltv.serving.scoring import score_stored
from ltv.serving.state import ServerState

router = APIRouter(tags=["customers"])


@router.get("/v1/customers/{customer_id}", response_model=CustomerResponse,
            responses={404: {"description": "Unknown customer"},
                       409: {"description": "The server has no online store"}})
async def customer(customer_id: str, state: ServerState = Depends(get_state)):
    [row] = state.stored_rows([customer_id])
    [prediction] = await score_stored(state, [row])
    return {"prediction": prediction, "features": jsonable_features(row)}
