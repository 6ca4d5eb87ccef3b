"""What the deep network reads: raw feature-table values, grouped into named input tensors.

No scaling happens here. Normalization, the signed-log transform and category lookups are
layers inside the network (see `network`), so a saved model takes these raw values. The spec
is learned at fit and stored with the model, so predict builds exactly the same inputs:
- "numeric":  (n, len(numeric)) float32, the numeric feature columns (booleans as 0/1, missing
              as NaN; the network maps non-finite values to 0);
- "attr_*":   (n, 1) object arrays of str, one input per categorical attribute (missing -> "", which the
              network's lookup treats as an unseen level);
- "sequence": (n, weeks, len(sequences)) float32, the weekly seq_* lists stacked as channels
              (oldest week first, as in the feature table);
- "calendar": (n, 1) float32, the day of year of the feature cutoff (point-in-time safe:
              the cutoff is known when predicting), for seasonality.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ltv.errors import SchemaError
from ltv.models.columns import feature_columns

NUMERIC, SEQUENCE, CALENDAR = "numeric", "sequence", "calendar"


@dataclass(frozen=True)
class DeepInputSpec:
    numeric: list[str]
    categories: dict[str, list[str]]  # attr_* column -> levels seen at fit, sorted
    sequences: list[str]
    weeks: int
    calendar: bool

    @classmethod
    def learn(cls, frame: pd.DataFrame, *, calendar: bool, sequences: bool) -> "DeepInputSpec":
        kinds = feature_columns(frame)
        categories = {col: sorted(frame[col].dropna().astype(str).unique().tolist())
                      for col in kinds.categorical}
        seq_cols = list(kinds.sequences) if sequences else []
        weeks = _sequence_length(frame, seq_cols[0]) if seq_cols else 0
        if weeks == 0:
            seq_cols = []
        return cls(numeric=list(kinds.numeric), categories=categories, sequences=seq_cols,
                   weeks=weeks, calendar=calendar)

    @property
    def required_columns(self) -> list[str]:
        """Feature-table columns `to_inputs` reads."""
        return (self.numeric + list(self.categories) + self.sequences
                + (["cutoff"] if self.calendar else []))

    def to_inputs(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        """The network's input dict for the rows of `frame` (see the module docstring)."""
        n = len(frame)
        inputs: dict[str, np.ndarray] = {
            NUMERIC: frame[self.numeric].astype(float).to_numpy(dtype=np.float32,
                                                                na_value=np.nan)
            if self.numeric else np.zeros((n, 0), dtype=np.float32)}
        for col in self.categories:
            # Python str objects: Keras feeds object arrays to StringLookup as tf.string.
            values = frame[col].astype("string").fillna("").to_numpy(dtype=object)
            inputs[col] = values.reshape(n, 1)
        if self.sequences:
            inputs[SEQUENCE] = np.stack([self._sequence(frame, col) for col in self.sequences],
                                        axis=-1)
        if self.calendar:
            day = pd.to_datetime(frame["cutoff"]).dt.day_of_year.to_numpy(dtype=np.float32)
            inputs[CALENDAR] = day.reshape(n, 1)
        return inputs

    def _sequence(self, frame: pd.DataFrame, col: str) -> np.ndarray:
        values = frame[col].to_numpy(dtype=object)
        out = np.zeros((len(values), self.weeks), dtype=np.float32)
        present = np.fromiter((_has_sequence(s) for s in values), dtype=bool, count=len(values))
        if present.any():  # absent: no activity at all in the window, all-zero weeks
            rows = np.flatnonzero(present)
            lengths = np.fromiter((len(s) for s in values[rows]), dtype=int, count=rows.size)
            bad = np.flatnonzero(lengths != self.weeks)
            if bad.size:
                raise SchemaError(
                    f"sequence has {lengths[bad[0]]} weeks, the model was trained on "
                    f"{self.weeks}", f"build the features with sequence_weeks={self.weeks}",
                    table="features", column=col, row=int(rows[bad[0]]))
            out[rows] = np.vstack(values[rows]).astype(np.float32)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"numeric": self.numeric, "categories": [[c, v] for c, v in self.categories.items()],
                "sequences": self.sequences, "weeks": self.weeks, "calendar": self.calendar}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "DeepInputSpec":
        return cls(numeric=list(data["numeric"]),
                   categories={c: list(v) for c, v in data["categories"]},
                   sequences=list(data["sequences"]), weeks=int(data["weeks"]),
                   calendar=bool(data["calendar"]))


def _has_sequence(seq: Any) -> bool:
    return seq is not None and not (isinstance(seq, float) and np.isnan(seq))


def _sequence_length(frame: pd.DataFrame, col: str) -> int:
    for seq in frame[col]:
        if _has_sequence(seq):
            return len(seq)
    return 0
