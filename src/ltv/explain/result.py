"""`Explanation`: one prediction split into a baseline and signed per-feature contributions.

Every explainer in `ltv.explain` returns this type. Money is in the model's currency over its
horizon (the units of the `ltv` prediction column). The identity it keeps, to float
precision (and tested for every family):

    prediction == baseline + sum(c.contribution for c in contributions) + approximation_error

`approximation_error` is 0 for the exact methods (TreeSHAP mapped to currency, the BTYD
Shapley values, the runtime path differences); integrated gradients, a numerical integral,
reports its quadrature residual there instead of hiding it in a feature.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Contribution:
    """One driver. `value` is the customer's raw feature value (float, str, None for missing,
    or a list of floats for a weekly sequence); `contribution` is signed, in currency."""

    feature: str
    value: Any
    contribution: float

    def to_dict(self) -> dict[str, Any]:
        return {"feature": self.feature, "value": _jsonable(self.value),
                "contribution": float(self.contribution)}


@dataclass(frozen=True)
class Drivers:
    """The top-k contributions, and `other`: the sum of all the rest, so that
    baseline + sum(top) + other + approximation_error == prediction."""

    top: list[Contribution]
    other: float
    other_count: int


@dataclass(frozen=True)
class Explanation:
    """`contributions` hold every feature, largest |contribution| first (ties: by name).

    customer_id: the row explained; model: the model's name (predictions' `model` column);
    method: "treeshap", "shapley", "integrated_gradients", "path_differences" or "ensemble";
    baseline_description: what the baseline is, in words; notes: plain-English sentences
    (BTYD: one per driver); details: method-specific numbers (steps, member weights ...).
    """

    customer_id: str
    model: str
    method: str
    prediction: float
    baseline: float
    contributions: list[Contribution]
    baseline_description: str
    approximation_error: float = 0.0
    notes: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def build(cls, *, contributions: list[Contribution], **fields) -> "Explanation":
        """An Explanation with its contributions sorted (largest |contribution| first)."""
        ordered = sorted(contributions, key=lambda c: (-abs(c.contribution), c.feature))
        return cls(contributions=ordered, **fields)

    def top(self, k: int = 10) -> Drivers:
        """The k largest drivers by |contribution| and the sum of the others."""
        if isinstance(k, bool) or not isinstance(k, int) or k < 0:
            raise ValueError(f"k={k!r} is not a whole number >= 0")
        rest = self.contributions[k:]
        other = math.fsum(c.contribution for c in rest)
        return Drivers(list(self.contributions[:k]), other, len(rest))

    @property
    def total(self) -> float:
        """baseline + every contribution + approximation_error (equals `prediction`)."""
        return math.fsum([self.baseline, self.approximation_error,
                          *(c.contribution for c in self.contributions)])

    def to_dict(self, top: int | None = 10) -> dict[str, Any]:
        """JSON-ready: the top drivers (all with top=None), `other`, and every number needed
        to check baseline + sum(drivers) + other + approximation_error == prediction."""
        drivers = self.top(len(self.contributions) if top is None else top)
        return {"customer_id": self.customer_id, "model": self.model, "method": self.method,
                "prediction": float(self.prediction), "baseline": float(self.baseline),
                "baseline_description": self.baseline_description,
                "drivers": [c.to_dict() for c in drivers.top],
                "other": float(drivers.other), "other_count": drivers.other_count,
                "approximation_error": float(self.approximation_error),
                "notes": list(self.notes), "details": _jsonable(self.details)}


def _jsonable(value: Any) -> Any:
    """numpy scalars and arrays as Python numbers and lists; NaN as None (JSON has no NaN)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if not np.isfinite(value) else float(value)
    return value
