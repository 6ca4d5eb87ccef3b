"""POST /v1/events: new transactions or behaviour events of one customer -> updated online
features and a new prediction, at once ("dynamic prediction").

The update (`ltv.online.apply_rows`) recomputes that customer's features as of `as_of` from
their stored history plus the new rows, with the same feature code as a full recompute, so
the online row equals what `ltv materialize` would write at that time. It runs in a worker
thread (it is DuckDB work, ~0.1 s), then the customer is scored through the micro-batcher.
"""

from __future__ import annotations

import asyncio

import pandas as pd
from fastapi import APIRouter, Depends

from ltv.serving.deps import get_state
from ltv.serving.jsonable import jsonable_features
from ltv.serving.schemas import EventsRequest, EventsResponse
from ltv.serving.scoring import score_stored
from ltv.serving.state import ServerState

router = APIRouter(tags=["customers"])


@router.post("/v1/events", response_model=EventsResponse,
             responses={409: {"description": "The server has no online store"},
                        422: {"description": "A bad or out-of-order row"}})
async def events(body: EventsRequest, state: ServerState = Depends(get_state)):
    from ltv.online.incremental import apply_rows

    store = state.require_store()
    features = await asyncio.to_thread(
        apply_rows, store, body.customer_id,
        transactions=_frame(body.transactions), events=_frame(body.events),
        as_of=_utc_naive(body.as_of) if body.as_of is not None else None)
    if features is None:
        return {"customer_id": body.customer_id, "prediction": None, "features": None}
    [prediction] = await score_stored(state, state.stored_rows([body.customer_id]))
    return {"customer_id": body.customer_id, "prediction": prediction,
            "features": jsonable_features(features)}


def _frame(items) -> pd.DataFrame | None:
    if not items:
        return None
    frame = pd.DataFrame([item.model_dump() for item in items])
    frame["ts"] = [_utc_naive(t) for t in frame["ts"]]
    return frame


def _utc_naive(value) -> pd.Timestamp:
    """A time with a zone to UTC; one without is UTC already (the data contract)."""
    ts = pd.Timestamp(value)
    return ts.tz_convert("UTC").tz_localize(None) if ts.tzinfo is not None else ts
