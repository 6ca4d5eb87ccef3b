"""Split training data in time for model selection, without touching the cutoff's future.

Validation origins are the latest labeled windows o_0 > o_1 > ... (o_0 = t - H). For each
origin o_j, the validation frame is the window at o_j (features before o_j, labels in
[o_j, o_j + H)), and the inner training set keeps only windows whose labels end at or before
o_j, with the features at o_j as its snapshot. A model fitted on the inner set and scored on
the validation window has therefore seen exactly what it would have seen had the cutoff been
o_j. Several origins make the choice less dependent on one season's luck.
"""

from __future__ import annotations

import pandas as pd

from ltv.errors import LTVError
from ltv.models.protocol import TrainingData

LABEL_COLUMNS = ("label_spend", "label_orders", "label_purchase_days", "label_active")


def validation_splits(data: TrainingData, max_origins: int = 3
                      ) -> list[tuple[TrainingData, pd.DataFrame]]:
    """[(inner training data, validation frame with labels)] for up to `max_origins` origins,
    newest first; only origins with at least one earlier, fully labeled window."""
    windows = data.windows
    horizon = pd.Timedelta(days=data.horizon_days)
    origins = sorted(pd.to_datetime(windows["cutoff"]).unique(), reverse=True)
    splits = []
    for origin in origins[:max_origins]:
        inner_windows = windows[windows["cutoff"] + horizon <= origin].reset_index(drop=True)
        if inner_windows.empty:
            break
        validation = windows[windows["cutoff"] == origin].reset_index(drop=True)
        snapshot = validation.drop(columns=[c for c in LABEL_COLUMNS if c in validation])
        inner = TrainingData(windows=inner_windows, snapshot=snapshot,
                             horizon_days=data.horizon_days, cutoff=pd.Timestamp(origin))
        splits.append((inner, validation))
    if not splits:
        latest = pd.Timestamp(origins[0]).date() if origins else data.cutoff.date()
        raise LTVError(
            f"not enough history before {data.cutoff.date()} to validate: model selection needs "
            f"a labeled window ending by {latest} in addition to the latest one",
            "use a later cutoff or a shorter horizon, or pick one family with --models")
    return splits


def validation_split(data: TrainingData) -> tuple[TrainingData, pd.DataFrame]:
    """The newest of `validation_splits`: (inner training data, validation frame at o_0)."""
    return validation_splits(data, max_origins=1)[0]
