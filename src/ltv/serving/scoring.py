"""Score feature rows through the A/B routing and the micro-batcher."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np

from ltv.serving.state import ServerState


async def score_rows(state: ServerState, rows: list[dict[str, Any]],
                     where: str = "rows") -> list[dict[str, Any]]:
    """Predictions for raw `rows` (each with customer_id and features), in request order,
    each with its model version and A/B arm; every value is checked against the schema."""
    ids = [str(row.get("customer_id")) for row in rows]
    return await _score(state, ids, lambda deployment, positions: deployment.schema.check(
        [rows[i] for i in positions], where, positions))


async def score_stored(state: ServerState, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Predictions for the online store's rows (`ServerState.stored_rows`), in order."""
    ids = [row["customer_id"] for row in rows]
    return await _score(state, ids, lambda deployment, positions:
                        deployment.schema.from_store([rows[i] for i in positions]))


async def _score(state: ServerState, ids: list[str], columns_for) -> list[dict[str, Any]]:
    routing = state.routing
    salt = state.deployments.name
    groups: dict[str, tuple[Any, list[int]]] = {}
    for i, cid in enumerate(ids):
        arm, deployment = routing.route(cid, salt)
        groups.setdefault(arm, (deployment, []))[1].append(i)
    checked = {arm: (deployment, positions, columns_for(deployment, positions))
               for arm, (deployment, positions) in groups.items()}
    results = await asyncio.gather(*(state.batcher.predict(deployment, columns)
                                     for deployment, _, columns in checked.values()))
    out: list[dict[str, Any] | None] = [None] * len(ids)
    for (arm, (deployment, positions, _)), predicted in zip(checked.items(), results):
        state.metrics.predictions.labels(arm).inc(len(positions))
        values = {c: predicted[c] for c in ("ltv", "ltv_lo", "ltv_hi", "p_active")}
        for k, i in enumerate(positions):
            out[i] = {"customer_id": ids[i], **{c: _finite(values[c][k]) for c in values},
                      "model_version": deployment.version, "arm": arm}
    return out


def _finite(value: float) -> float:
    # JSON has no NaN. A model should never give one for a valid row: that is a server fault
    # (500, counted in ltv_errors_total), not something to hide as a number.
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"the model returned a non-finite prediction ({value})")
    return value
