"""The GBDT design matrix: which feature columns go in, and how they become numbers.

Learned at fit and stored with the model, so prediction builds exactly the same matrix:
- numeric features (`columns.feature_columns(...).numeric`, booleans as 0/1), as float64;
- categorical `attr_*` columns as integer codes over the levels seen at fit (sorted), which
  LightGBM treats as categoricals. A level unseen at fit, or a missing value, becomes NaN
  (LightGBM's "missing"), so a new acquisition channel at serving time cannot crash it;
- optionally the calendar position of the feature cutoff (`calendar_day_of_year`). The
  cutoff (a window's origin) is known when predicting, so this is point-in-time safe, and
  across stacked windows it lets the trees learn a seasonal level (a window whose horizon
  covers December spends more). A tree cannot extrapolate: a cutoff later in the year than
  every training origin gets the level of the nearest one seen (usually the latest window).
The weekly `seq_*` sequences are left out: their recent sums are already the `spend_7d` ...
`spend_365d` window columns and trends, and a tree gains little from 52 raw weeks.

Shapes: `matrix(frame)` is (rows of frame, len(feature_names)) float32. Single precision, as
XGBoost stores features, on purpose: DuckDB's parallel SUMs are not bit-reproducible, so the
same transactions can give features that differ in the 16th digit from run to run, and a
boosted ensemble amplifies such ties into visibly different trees (measured: a 5-10% shift
of the median prediction). Rounding to 7 digits removes that noise; trees lose nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ltv.models.columns import feature_columns

CALENDAR_FEATURE = "calendar_day_of_year"


@dataclass(frozen=True)
class InputSpec:
    numeric: list[str]
    categories: dict[str, list[str]]  # attr_* column -> levels, in code order
    calendar: bool

    @classmethod
    def learn(cls, frame: pd.DataFrame, calendar: bool) -> "InputSpec":
        kinds = feature_columns(frame)
        categories = {}
        for col in kinds.categorical:
            values = frame[col].dropna().astype(str).unique()
            categories[col] = sorted(values.tolist())
        return cls(numeric=list(kinds.numeric), categories=categories, calendar=calendar)

    @property
    def categorical(self) -> list[str]:
        return list(self.categories)

    @property
    def feature_names(self) -> list[str]:
        return self.numeric + self.categorical + ([CALENDAR_FEATURE] if self.calendar else [])

    @property
    def required_columns(self) -> list[str]:
        """Columns `matrix` reads from the feature table."""
        return self.numeric + self.categorical + (["cutoff"] if self.calendar else [])

    @cached_property
    def _codes(self) -> dict[str, dict[str, float]]:
        # level -> code, built once: a server calls `matrix` for every micro-batch, and a
        # dict lookup per value beats pandas' string machinery for small batches.
        return {col: {level: float(i) for i, level in enumerate(levels)}
                for col, levels in self.categories.items()}

    def matrix(self, frame: pd.DataFrame) -> np.ndarray:
        numeric = frame[self.numeric].to_numpy(dtype=float, na_value=np.nan) \
            if self.numeric else np.empty((len(frame), 0))
        return self._finish(numeric, lambda col: frame[col].to_numpy(dtype=object),
                            lambda: pd.to_datetime(frame["cutoff"]).dt.day_of_year
                            .to_numpy(dtype=float))

    def matrix_from_columns(self, columns: Mapping[str, Sequence]) -> np.ndarray:
        """`matrix` of a feature table given as {column: values}, without building a
        DataFrame (the server's micro-batches: a DataFrame costs ~1 ms even for one row).
        Numbers may be float, int or None (missing); the cutoff any datetime-like value."""
        n = len(columns["customer_id"])
        numeric = np.array([columns[c] for c in self.numeric], dtype=float).T \
            if self.numeric else np.empty((n, 0))
        return self._finish(numeric.reshape(n, len(self.numeric)),
                            lambda col: columns[col],
                            lambda: np.array([pd.Timestamp(v).day_of_year
                                              for v in columns["cutoff"]], dtype=float))

    def _finish(self, numeric: np.ndarray, values_of, days_of_year) -> np.ndarray:
        parts = [numeric]
        for col, codes in self._codes.items():
            # Unseen at fit, or missing, is NaN (LightGBM's "missing"); a non-string value
            # is matched by its text, as .astype("string") would.
            parts.append(np.array([_code(codes, v) for v in values_of(col)],
                                  dtype=float)[:, None])
        if self.calendar:
            parts.append(days_of_year()[:, None])
        return np.hstack(parts).astype(np.float32)

    def to_dict(self) -> dict[str, Any]:
        # Lists of pairs, not dicts: the manifest is written with sorted keys, and the column
        # order is the matrix's column order.
        return {"numeric": self.numeric, "categories": [[c, v] for c, v in self.categories.items()],
                "calendar": self.calendar}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "InputSpec":
        return cls(numeric=list(data["numeric"]),
                   categories={c: list(v) for c, v in data["categories"]},
                   calendar=bool(data["calendar"]))


def _code(codes: dict[str, float], value: Any) -> float:
    if isinstance(value, str):
        return codes.get(value, np.nan)
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return np.nan
    return codes.get(str(value), np.nan)
