"""Score feature rows through the A/B routing and the micro-batcher."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np

from ltv.serving.state import ServerState


async def score_rows(state: ServerState, rows: list[dict[str, Any]],
                     where: str = "rows") -> list[dict[str, Any]]:
    """Predictions for `rows` (each with customer_id and features), in request order, each
    with its model version and A/B arm."""
    routing = state.routing
    salt = state.deployments.name
    groups: dict[str, tuple[Any, list[int]]] = {}
    for i, row in enumerate(rows):
        arm, deployment = routing.route(str(row.get("customer_id")), salt)
        groups.setdefault(arm, (deployment, []))[1].append(i)
    frames = {arm: (deployment, positions,
                    deployment.schema.frame([rows[i] for i in positions], where, positions))
              for arm, (deployment, positions) in groups.items()}
    results = await asyncio.gather(*(state.batcher.predict(deployment, frame)
                                     for deployment, _, frame in frames.values()))
    out: list[dict[str, Any] | None] = [None] * len(rows)
    for (arm, (deployment, positions, _)), predicted in zip(frames.items(), results):
        state.metrics.predictions.labels(arm).inc(len(positions))
        columns = {c: predicted[c].to_numpy() for c in ("ltv", "ltv_lo", "ltv_hi", "p_active")}
        ids = predicted["customer_id"].to_numpy()
        for k, i in enumerate(positions):
            out[i] = {"customer_id": str(ids[k]),
                      **{c: _finite(columns[c][k]) for c in columns},
                      "model_version": deployment.version, "arm": arm}
    return out


def _finite(value: float) -> float:
    # JSON has no NaN. A model should never give one for a valid row: that is a server fault
    # (500, counted in ltv_errors_total), not something to hide as a number.
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"the model returned a non-finite prediction ({value})")
    return value
