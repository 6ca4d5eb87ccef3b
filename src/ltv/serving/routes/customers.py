"""GET /v1/customers/{id}: the prediction, the stored features, the customer's profile and
why the model predicts what it does."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Query

from ltv.errors import LTVError
from ltv.online.profiles import read_profile
from ltv.serving.deps import get_state
from ltv.serving.jsonable import jsonable_features
from ltv.serving.schemas import CustomerResponse
from ltv.serving.scoring import score_stored
from ltv.serving.state import ServerState

router = APIRouter(tags=["customers"])


@router.get("/v1/customers/{customer_id}", response_model=CustomerResponse,
            responses={404: {"description": "Unknown customer"},
                       409: {"description": "The server has no online store"}})
async def customer(customer_id: str, state: ServerState = Depends(get_state),
                   explain: bool = Query(True, description="Add the explanation (a few ms "
                                         "for GBDT and BTYD, ~30 ms for a deep model).")):
    [row] = state.stored_rows([customer_id])
    routing = state.routing  # one snapshot: the explanation comes from the scoring version
    [prediction] = await score_stored(state, [row])
    body = {"prediction": prediction, "features": jsonable_features(row),
            "profile": read_profile(state.store, customer_id)}
    if explain:
        _, deployment = routing.route(customer_id, state.deployments.name)
        try:  # off the event loop: a deep model's path differences take tens of ms
            body["explanation"] = await asyncio.to_thread(state.explainers.explain,
                                                          deployment, row)
        except LTVError as err:
            body["explanation_error"] = f"{err.problem}; {err.fix}"
    return body
