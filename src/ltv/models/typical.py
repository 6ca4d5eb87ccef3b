"""The "typical customer": one feature row that stands for a population, column by column.

It is the baseline of the BTYD and deep explanations (`ltv.explain`), recorded at train time
(`typical_customer` in training.json and the manifest) so that a server explains against the
training population without the warehouse. Built from `reference` (feature rows of a
population, usually every customer at one cutoff):
- a numeric column: the median of its non-missing values; missing when more than half of the
  rows are missing (e.g. the gap between purchases of a population of one-time buyers);
- a weekly sequence (seq_*): the median of each week over the rows (no sequence = zeros);
- a categorical or text column: the most frequent value (ties: the first in sorted order);
  missing when more than half are missing;
- `cutoff`: the median cutoff (the cutoff itself when the rows share one).
Medians are taken per column, so the row is "typical" feature by feature, not a real customer.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd

from ltv.errors import LTVError
from ltv.models.columns import SEQUENCE_PREFIX

TYPICAL_ID = "typical customer"


def typical_customer(reference: pd.DataFrame) -> pd.DataFrame:
    """One feature row (see the module docstring); customer_id is "typical customer"."""
    if not isinstance(reference, pd.DataFrame) or reference.empty:
        raise LTVError("the reference rows for the explanation baseline are empty",
                       "pass the feature rows of the population at the cutoff "
                       "(ltv.build_features(db, cutoff))")
    row: dict[str, Any] = {}
    for col in reference.columns:
        values = reference[col]
        if col == "customer_id":
            row[col] = TYPICAL_ID
        elif col.startswith(SEQUENCE_PREFIX):
            row[col] = _median_sequence(values)
        elif pd.api.types.is_datetime64_any_dtype(values.dtype):
            row[col] = _median_time(values)
        elif pd.api.types.is_bool_dtype(values.dtype) or \
                pd.api.types.is_numeric_dtype(values.dtype):
            row[col] = _median(values.to_numpy(dtype=float, na_value=np.nan))
        else:
            row[col] = _mode(values)
    return pd.DataFrame({k: [v] for k, v in row.items()})


def _median(values: np.ndarray) -> float:
    present = values[np.isfinite(values)]
    if present.size * 2 < values.size or present.size == 0:
        return float("nan")
    return float(np.median(present))


def _median_time(values: pd.Series):
    present = values.dropna()
    if present.empty:
        return pd.NaT
    return present.sort_values().iloc[(len(present) - 1) // 2]


def _mode(values: pd.Series):
    present = values.dropna()
    if len(present) * 2 < len(values) or present.empty:
        return None
    counts = present.astype(str).value_counts()
    best = counts[counts == counts.max()].index
    return sorted(best)[0]


def _median_sequence(values: pd.Series) -> list[float] | None:
    rows = [np.asarray(v, dtype=float) for v in values if _has_sequence(v)]
    if not rows:
        return None
    length = max(len(r) for r in rows)
    full = np.zeros((len(values), length))
    for i, r in enumerate(rows):
        full[i, :len(r)] = r  # customers without a sequence had no activity: zero weeks
    return np.median(np.nan_to_num(full), axis=0).tolist()


def _has_sequence(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and np.isnan(value))


def typical_row_json(reference: pd.DataFrame, names: list[str]) -> dict[str, Any]:
    """The typical customer of `reference` over customer_id, cutoff and the model's feature
    `names`, as JSON-ready values (NaN -> null, times -> ISO strings, sequences -> lists)."""
    keep = [c for c in dict.fromkeys(["customer_id", "cutoff", *names]) if c in reference.columns]
    row = typical_customer(reference[keep]).iloc[0].to_dict()
    return {k: _json_value(v) for k, v in row.items()}


def _json_value(value: Any) -> Any:
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_json_value(v) for v in list(value)]
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (pd.Timestamp, dt.datetime, dt.date)):
        return value.isoformat()
    return value
