"""The one model protocol every family follows (BTYD, GBDT, deep, ensemble).

Like scikit-learn estimators: the constructor only stores hyperparameters, `fit` returns self,
learned state ends in `_`, `predict` before `fit` raises `NotFittedError`, and
`save(path)` / `load(path)` give identical predictions.

Inputs are the feature tables of `ltv.features` (one row per customer as of a cutoff):
- `TrainingData.windows`: labeled examples stacked over several earlier cutoffs (each row has
  a `cutoff` and `label_*` columns for [cutoff, cutoff + horizon)),
- `TrainingData.snapshot`: unlabeled features at the training cutoff itself (BTYD models fit
  on it: their summary already spans all history before the cutoff).
Output of `predict` is the predictions contract: customer_id, model, ltv, ltv_lo, ltv_hi,
p_active, one row per input row, in input order.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ltv.errors import NotFittedError, SchemaError

PREDICTION_COLUMNS = ["customer_id", "model", "ltv", "ltv_lo", "ltv_hi", "p_active"]


@dataclass
class TrainingData:
    """What a model learns from. Money is in currency units, times in days."""

    windows: pd.DataFrame
    snapshot: pd.DataFrame | None
    horizon_days: int
    cutoff: pd.Timestamp

    @property
    def latest_window(self) -> pd.DataFrame:
        """The labeled window closest to the cutoff (the natural validation window)."""
        return self.windows[self.windows["cutoff"] == self.windows["cutoff"].max()]


class LTVModel(ABC):
    """Base class: parameter handling, fitted checks, feature checks, prediction framing."""

    family: ClassVar[str] = "base"

    # ---- hyperparameters (scikit-learn style) -------------------------------------------
    def get_params(self) -> dict[str, Any]:
        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {name: getattr(self, name) for name in names}

    @property
    def name(self) -> str:
        """Column-friendly alias used in predictions' `model` column."""
        return getattr(self, "alias", None) or self.family

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    # ---- the protocol ---------------------------------------------------------------------
    @abstractmethod
    def fit(self, data: TrainingData) -> "LTVModel":
        """Learn from `data`; returns self."""

    @abstractmethod
    def predict(self, features: pd.DataFrame) -> pd.DataFrame:
        """One prediction row per row of `features` (see module docstring)."""

    @abstractmethod
    def save(self, path: str | Path) -> None:
        """Write the fitted model to a folder (atomically, with checksums)."""

    @classmethod
    @abstractmethod
    def load(cls, path: str | Path) -> "LTVModel":
        """Read a model written by `save`."""

    # ---- helpers for subclasses -----------------------------------------------------------
    def _check_fitted(self, attribute: str = "feature_names_") -> None:
        if not hasattr(self, attribute):
            raise NotFittedError(
                f"{type(self).__name__} is not fitted yet",
                "call .fit(training_data) first, or load a saved model with .load(path)")

    def _check_features(self, features: pd.DataFrame | Mapping[str, Any],
                        required: list[str]) -> None:
        """Missing columns are an error naming them; extra columns are ignored. `features` is
        a DataFrame or a {column: values} table."""
        names = features.columns if isinstance(features, pd.DataFrame) else features
        if "customer_id" not in names:
            raise SchemaError("column missing from the features", "pass the table built by "
                              "ltv.build_features", table="features", column="customer_id")
        missing = [c for c in required if c not in names]
        if missing:
            shown = ", ".join(missing[:8]) + (" ..." if len(missing) > 8 else "")
            raise SchemaError(
                f"{len(missing)} feature column(s) the model was trained on are missing: {shown}",
                "build the features with the same options (windows, categories, sequence "
                "length, tables) as at training time",
                table="features", column=missing[0])

    def _frame(self, features: pd.DataFrame, ltv: np.ndarray, lo: np.ndarray, hi: np.ndarray,
               p_active: np.ndarray) -> pd.DataFrame:
        arrays = self._arrays(features["customer_id"].astype(str).to_numpy(), ltv, lo, hi,
                              p_active)
        return pd.DataFrame({"customer_id": arrays.pop("customer_id"), "model": self.name,
                             **arrays})

    @staticmethod
    def _arrays(ids: np.ndarray, ltv: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                p_active: np.ndarray) -> dict[str, np.ndarray]:
        """The predictions contract as arrays: the interval holds ltv, p_active in [0, 1]."""
        ltv = np.asarray(ltv, dtype=float)
        return {"customer_id": ids, "ltv": ltv,
                "ltv_lo": np.minimum(np.asarray(lo, dtype=float), ltv),
                "ltv_hi": np.maximum(np.asarray(hi, dtype=float), ltv),
                "p_active": np.clip(np.asarray(p_active, dtype=float), 0.0, 1.0)}
