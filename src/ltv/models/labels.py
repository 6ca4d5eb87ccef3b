"""Training labels and rows shared by the learned families (GBDT, deep).

- `check_windows`: the stacked training windows have keys and finite labels;
- `clipped_spend`, `label_scale`: spend over the horizon clipped at 0, and the currency unit
  a model learns in (the mean clipped label), so a shop pricing in cents trains like one
  pricing in euros;
- `balance_factor`: the one factor that makes the predictions' total match the labels'
  (the "balance property" of a canonical GLM, Wuthrich 2020), restored after log-link fits;
- `holdout_split`: which training rows validate early stopping. The LATEST window (largest
  `cutoff`, origin o_0) when there are several: later than everything the model learned from,
  as the future will be. Given the horizon H, the training side keeps only the windows whose
  labels end by o_0 (cutoff + H <= o_0, "gapped latest window"): with a stride below H the
  other earlier windows' label periods overlap o_0's (by up to 76 of 90 days at a 14-day
  stride), so the same transactions would be labels on both sides and early stopping would be
  nearly in sample. When no window ends by o_0 (the windows span less than H), the gap is
  impossible and the split falls back to every earlier window ("latest window", overlapping
  labels): a customer-hash split would overlap in time just the same and validate on older
  data. Without H (horizon_days=None) that ungapped split is used too. With a single window,
  customers are split by a deterministic hash of their id (crc32 % 5 == 0, about 20%, the same
  on every run and machine).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ltv.errors import LTVError, SchemaError

LABELS = ("label_spend", "label_active")
VALIDATION_BUCKETS = 5  # 1 in 5 customers validates when there is only one window


def check_windows(frame: pd.DataFrame) -> pd.DataFrame:
    """The windows with a fresh index, or a clear error when keys or labels are unusable."""
    needed = ["customer_id", "cutoff", *LABELS]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise SchemaError("column missing from the training windows",
                          "build them with ltv.models.training_data.build_training_data "
                          "(labels=True windows)", table="windows", column=missing[0])
    if frame.empty:
        raise LTVError("the training windows have no row",
                       "choose a later cutoff or a smaller min_history_days")
    labels = frame["label_spend"].to_numpy(dtype=float)
    if not np.isfinite(labels).all():
        row = int(np.flatnonzero(~np.isfinite(labels))[0])
        raise SchemaError(f"label is {labels[row]}", "labels are 0 for no spend, never NaN",
                          table="windows", column="label_spend", row=row)
    return frame.reset_index(drop=True)


def clipped_spend(frame: pd.DataFrame) -> np.ndarray:
    return np.clip(frame["label_spend"].to_numpy(dtype=float), 0.0, None)


def label_scale(frame: pd.DataFrame) -> float:
    """The currency unit models learn in: mean of the clipped label (1 if it is 0)."""
    mean = float(clipped_spend(frame).mean())
    return mean if mean > 0 else 1.0


def balance_factor(target: np.ndarray, pred: np.ndarray) -> float:
    """sum(target) / sum(pred): the one factor that makes the predictions' total right."""
    total_pred, total = float(np.sum(pred)), float(np.sum(target))
    return total / total_pred if total_pred > 0 and total > 0 else 1.0


@dataclass(frozen=True)
class Split:
    """Boolean masks over the training rows; `how` says which rule made them."""

    train: np.ndarray
    valid: np.ndarray
    how: str  # "gapped latest window", "latest window" or "customer hash"


def holdout_split(frame: pd.DataFrame, horizon_days: int | None = None) -> Split:
    """Train/validation masks for early stopping (see the module docstring). Rows of windows
    between the gapped training windows and the latest one are on neither side."""
    cutoffs = pd.to_datetime(frame["cutoff"])
    if cutoffs.nunique() >= 2:
        latest = cutoffs.max()
        valid = (cutoffs == latest).to_numpy()
        if horizon_days is not None:
            ended = (cutoffs + pd.Timedelta(days=int(horizon_days)) <= latest).to_numpy()
            if ended.any():
                return Split(ended, valid, "gapped latest window")
        return Split(~valid, valid, "latest window")
    ids = frame["customer_id"].astype(str)
    bucket = ids.map(lambda s: zlib.crc32(s.encode()) % VALIDATION_BUCKETS).to_numpy()
    valid = bucket == 0
    if valid.all() or not valid.any():  # a handful of customers: fall back to row parity
        valid = np.arange(len(frame)) % VALIDATION_BUCKETS == 0
    return Split(~valid, valid, "customer hash")
