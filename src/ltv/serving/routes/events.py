"""POST /v1/events: new transactions of one customer -> updated features and a new prediction.

The customer's online features are updated incrementally (`ltv.online`), equal to a full
recompute as of `as_of`, and the customer is re-scored at once.
"""

from __future__ import annotations

import asyncio
import datetime as dt

import pandas as pd
from fastapi import APIRouter, Depends

from ltv.serving.deps import get_state
from ltv.serving.jsonable import jsonable_features
from ltv.serving.schemas import CustomerResponse, EventsRequest
from ltv.serving.scoring import score_rows
from ltv.serving.state import ServerState

router = APIRouter(tags=["customers"])


@router.post("/v1/events", response_model=CustomerResponse,
             responses={409: {"description": "The server has no online store"},
                        422: {"description": "A bad or out-of-order transaction"}})
async def events(body: EventsRequest, state: ServerState = Depends(get_state)):
    from ltv.online.incremental import apply_transactions

    store = state.require_store()
    rows = pd.DataFrame([t.model_dump() for t in body.transactions])
    rows["ts"] = _utc_naive(rows["ts"])
    as_of = pd.Timestamp(body.as_of) if body.as_of is not None else \
        pd.Timestamp(dt.datetime.now(dt.timezone.utc))
    as_of = as_of.tz_convert("UTC").tz_localize(None) if as_of.tzinfo else as_of
    features = await asyncio.to_thread(apply_transactions, store, body.customer_id, rows, as_of)
    [prediction] = await score_rows(state, [{**features, "customer_id": body.customer_id}],
                                    "features")
    return {"prediction": prediction, "features": jsonable_features(features)}


def _utc_naive(ts: pd.Series) -> pd.Series:
    """Times with a zone to UTC; times without one are taken as UTC already (the contract)."""
    return pd.Series([pd.Timestamp(t).tz_convert("UTC").tz_localize(None)
                      if pd.Timestamp(t).tzinfo else pd.Timestamp(t) for t in ts],
                     dtype="datetime64[us]")
