"""Customer profiles in the online store, next to the features the server reads.

`ltv profile --online URL` writes each customer's profile row (segment, tier, churn risk,
interests, ...; see `ltv.profiles`) as JSON into the store's current generation, so that
`GET /v1/customers/{id}` can return it without the warehouse. A profile is a batch product:
it carries its own as-of `cutoff`, and a re-materialize (a new generation) starts without
profiles until `ltv profile --online` runs again, so a served profile is never older than
the features it sits beside.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd

from ltv.online.base import PROFILES, OnlineStore, OnlineStoreError

CHUNK = 5_000  # rows per atomic write


def write_profiles(store: OnlineStore, profiles: pd.DataFrame) -> int:
    """Upsert one JSON profile per row of `profiles` (with customer_id) into the current
    generation; returns rows written. Raises OnlineStoreError before the first materialize,
    or if a re-materialize happens meanwhile (run it again then)."""
    meta = store.meta()
    if meta is None:
        raise OnlineStoreError(f"the online store {store.url} has no materialized features "
                               "to put profiles beside", "run `ltv materialize` first")
    if "customer_id" not in profiles.columns:
        raise OnlineStoreError("the profiles have no customer_id column",
                               "pass the frame `ltv.profiles.build_profiles` returns")
    records = profiles.to_dict("records")
    for start in range(0, len(records), CHUNK):
        chunk = records[start:start + CHUNK]
        values = {str(r["customer_id"]): json.dumps(_jsonable(r), allow_nan=False).encode()
                  for r in chunk}
        if not store.write_if(meta.generation, None, {PROFILES: values}):
            raise OnlineStoreError(f"the online store {store.url} was re-materialized while "
                                   "profiles were written", "run `ltv profile --online` again")
    return len(records)


def read_profile(store: OnlineStore, customer_id: str) -> dict[str, Any] | None:
    """The stored profile of one customer, or None (no profile written for them)."""
    [raw] = store.get_state(PROFILES, [customer_id])
    return None if raw is None else json.loads(raw)


def _jsonable(record: dict[str, Any]) -> dict[str, Any]:
    return {k: _value(v) for k, v in record.items()}


def _value(value: Any) -> Any:
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        return pd.Timestamp(value).isoformat()
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return None if math.isnan(value) or math.isinf(value) else float(value)
    return value if isinstance(value, str) else str(value)
