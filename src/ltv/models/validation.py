"""Split training data in time for model selection, without touching the cutoff's future.

The latest labeled window (origin o_0 = t - H, labels [o_0, t)) becomes the validation window.
The inner training set keeps only windows whose labels end at or before o_0, and its snapshot
is the features at o_0. A model fitted on the inner set and scored on the validation window has
therefore seen exactly what it would have seen had the cutoff been o_0.
"""

from __future__ import annotations

import pandas as pd

from ltv.errors import LTVError
from ltv.models.protocol import TrainingData

LABEL_COLUMNS = ("label_spend", "label_orders", "label_purchase_days", "label_active")


def validation_split(data: TrainingData) -> tuple[TrainingData, pd.DataFrame]:
    """Return (inner training data, validation frame with features and labels at o_0)."""
    windows = data.windows
    origin = windows["cutoff"].max()
    horizon = pd.Timedelta(days=data.horizon_days)
    validation = windows[windows["cutoff"] == origin].reset_index(drop=True)
    inner_windows = windows[windows["cutoff"] + horizon <= origin].reset_index(drop=True)
    if inner_windows.empty:
        raise LTVError(
            f"not enough history before {data.cutoff.date()} to validate: model selection needs "
            f"a labeled window ending by {origin.date()} in addition to the latest one",
            "use a later cutoff or a shorter horizon, or pick one family with --models")
    snapshot = validation.drop(columns=[c for c in LABEL_COLUMNS if c in validation.columns])
    inner = TrainingData(windows=inner_windows, snapshot=snapshot,
                         horizon_days=data.horizon_days, cutoff=pd.Timestamp(origin))
    return inner, validation
