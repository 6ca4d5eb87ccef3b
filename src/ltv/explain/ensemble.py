"""Explaining an `EnsembleModel`: the weighted sum of its members' explanations.

The blend's `ltv` is sum_m w_m ltv_m (`ltv.models.ensemble`), so with each member explained as
ltv_m = baseline_m + sum_f c_mf + error_m, the blend is explained exactly by
baseline = sum_m w_m baseline_m, c_f = sum_m w_m c_mf (merged by feature name) and
error = sum_m w_m error_m. Members explain against their own baselines (TreeSHAP's expected
value for GBDT, the typical customer for BTYD and deep), so the blend's baseline is the same
weighted mix; each member's weighted share is kept in `details["members"]`.

BTYD's "recency" player (recency and T together) is merged with the other members'
"recency" column.
"""

from __future__ import annotations

import math

import pandas as pd

from ltv.explain.result import Contribution, Explanation
from ltv.explain.rows import one_row


class EnsembleExplainer:
    """`explain(row)` for a fitted EnsembleModel, given one explainer per member (in the
    order of `model.members_`)."""

    method = "ensemble"

    def __init__(self, model, member_explainers: list):
        model._check_fitted("members_")
        self.model = model
        self.members = list(member_explainers)
        self.weights = [float(model.weights_[m.name]) for m in model.members_]

    def explain(self, features: pd.DataFrame | dict) -> Explanation:
        row = one_row(features)
        self.model._check_features(row, self.model.feature_names_)
        parts = [e.explain(row) for e in self.members]
        merged: dict[str, list[float]] = {}
        values: dict[str, object] = {}
        for w, part in zip(self.weights, parts):
            for c in part.contributions:
                merged.setdefault(c.feature, []).append(w * c.contribution)
                values.setdefault(c.feature, c.value)
        contributions = [Contribution(f, values[f], math.fsum(v)) for f, v in merged.items()]

        def blend(attribute: str) -> float:
            return math.fsum(w * getattr(p, attribute) for w, p in zip(self.weights, parts))

        return Explanation.build(
            customer_id=str(row.at[0, "customer_id"]), model=self.model.name,
            method=self.method, prediction=blend("prediction"), baseline=blend("baseline"),
            contributions=contributions, approximation_error=blend("approximation_error"),
            baseline_description="weighted mix of the members' baselines (see members)",
            notes=[f"{p.model} (weight {w:.2f}): {note}" for w, p in zip(self.weights, parts)
                   for note in p.notes],
            details={"members": [{"model": p.model, "weight": w, "method": p.method,
                                  "prediction": p.prediction, "baseline": p.baseline,
                                  "baseline_description": p.baseline_description,
                                  "approximation_error": p.approximation_error}
                                 for w, p in zip(self.weights, parts)]})
