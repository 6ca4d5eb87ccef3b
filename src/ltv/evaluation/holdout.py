"""Out-of-time metrics for a model about to be deployed, from data before its cutoff only.

`ltv train --cutoff t` fits on windows whose labels end by t. To say how good that model is
without waiting H days, the same model spec is fitted as of t - H (on windows ending by
t - H) and scored on the actual spend in [t - H, t): the last horizon the data has fully
observed. These are the "backtest metrics" a registry version's manifest carries.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from ltv.evaluation import metrics
from ltv.evaluation.backtest import actual_spend
from ltv.features.params import parse_cutoff


def holdout_metrics(db: str | Path, cutoff, horizon_days: int, models: str) -> dict[str, Any]:
    """{"origin", "horizon_days", "customers", "metrics"} of `models` fitted as of
    cutoff - horizon_days and scored on [cutoff - horizon_days, cutoff)."""
    from ltv.models.selection import model_for
    from ltv.models.training_data import build_training_data, training_windows

    origin = parse_cutoff(cutoff) - dt.timedelta(days=horizon_days)
    data = build_training_data(db, origin, horizon_days, **training_windows(horizon_days))
    predictions = model_for(models).fit(data).predict(data.snapshot)
    actual = actual_spend(db, origin, horizon_days).reindex(predictions["customer_id"])
    return {"origin": str(origin.date()), "horizon_days": horizon_days,
            "customers": int(len(predictions)),
            "metrics": metrics.evaluate(predictions, actual.to_numpy())}
