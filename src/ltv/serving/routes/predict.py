"""POST /v1/predict: a batch of customers, by id (online store) or as raw feature rows."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import JSONResponse

from ltv.serving.deps import get_state
from ltv.serving.schemas import PredictRequest, PredictResponse
from ltv.serving.scoring import score_stored, score_rows
from ltv.serving.state import ServerState

router = APIRouter(tags=["predictions"])

ERRORS = {404: {"description": "Unknown customer id(s)"},
          409: {"description": "Ids given but the server has no online store"},
          413: {"description": "Too many rows or too large a body"},
          422: {"description": "A field is missing, has the wrong type or is out of range"}}


@router.post("/v1/predict", response_model=PredictResponse, responses=ERRORS)
async def predict(body: PredictRequest, state: ServerState = Depends(get_state)):
    """Expected spend over the horizon (`ltv`), its interval and P(active) per customer."""
    field, count = ("customers", len(body.customers)) if body.customers is not None \
        else ("rows", len(body.rows))
    if count == 0:
        raise HTTPException(422, f"{field}: give at least one")
    if count > state.settings.max_request_rows:
        raise HTTPException(413, f"{field}: {count} items is more than the limit of "
                                 f"{state.settings.max_request_rows} per request; split the batch")
    if body.customers is not None:
        predictions = await score_stored(state, state.stored_rows(body.customers))
    else:
        predictions = await score_rows(state, body.rows, "rows")
    champion = state.routing.champion
    # Already the response's shape: skip FastAPI's re-validation of it (~0.1 ms per row).
    return JSONResponse({"model": state.deployments.name, "horizon_days": champion.horizon_days,
                         "predictions": predictions})
