"""Explaining a `GBDTModel`: exact TreeSHAP in the boosters' raw space, mapped to currency.

LightGBM's `pred_contrib=True` gives, per booster, the exact (path-dependent) TreeSHAP values
phi_i of the raw score r = phi_0 + sum_i phi_i, where phi_0 is the booster's expected raw
score over its training rows (tree covers). The raw score is a log (tweedie, gamma) or a logit
(binary), and the model's `ltv` is a nonlinear function of it (see
`ltv.models.gbdt.objectives`, with B = balance factor, s = label scale):

    tweedie:  ltv = B s exp(r_value)
    hurdle:   ltv = B s sigmoid(r_positive) exp(r_amount)

Both are exp(L) of a log-space total L. Each feature's share of L - L_0 is:
- tweedie: phi_i of the value booster;
- hurdle:  phi_i of the amount booster plus phi_i of the positive booster times the secant
  slope (log sigmoid(a) - log sigmoid(a_0)) / (a - a_0): the two boosters are combined in
  log space, before the exp, so a feature that raises both the chance and the amount of spend
  is credited once, with both effects.
Then the currency contribution is c_i = exp(L_0) (exp(L - L_0) - 1) / (L - L_0) x l_i. This
is DeepLIFT's "rescale" rule (Shrikumar et al. 2017) through each nonlinearity: the
contributions sum exactly to ltv - baseline, keep the signs and the raw-space ranking of the
TreeSHAP values, and equal the exact currency Shapley value when one feature moves. With
several features it approximates currency-space Shapley values (which would need the
interactions TreeSHAP does not give): a feature's currency weight scales with how far the
whole customer is from the baseline, since exp is convex.

The baseline is exp(L_0): the model's prediction for a customer at every booster's expected
raw score (not the mean prediction, which exp's convexity puts higher). It needs no
reference rows. Cost: one TreeSHAP pass per booster, ~1 ms for a few hundred trees.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import exprel, log_expit

from ltv.explain.result import Contribution, Explanation
from ltv.explain.rows import one_row
from ltv.models.gbdt.inputs import CALENDAR_FEATURE

BASELINE = ("prediction at the boosters' expected raw scores over the training rows "
            "(TreeSHAP's expected value, mapped to currency)")


class GBDTExplainer:
    """`explain(row)` for a fitted GBDTModel; holds nothing but the model."""

    method = "treeshap"

    def __init__(self, model):
        model._check_fitted()
        self.model = model

    def raw_contributions(self, features: pd.DataFrame) -> dict[str, np.ndarray]:
        """{booster name: (rows, features + 1)} LightGBM pred_contrib, the last column being
        phi_0; each row sums to that booster's raw score. Only the boosters behind `ltv`."""
        m = self.model
        X = m.inputs_.matrix(features)
        names = ["value"] if m.objective == "tweedie" else ["positive", "amount"]
        return {name: np.asarray(m.boosters_[name].predict(X, pred_contrib=True,
                                                          num_threads=m.num_threads),
                                 dtype=float) for name in names}

    def explain(self, features: pd.DataFrame | dict) -> Explanation:
        row = one_row(features)
        m = self.model
        m._check_features(row, m.inputs_.required_columns)
        raw = self.raw_contributions(row)
        log_scale = float(np.log(m.balance_factor_ * m.label_scale_))
        if m.objective == "tweedie":
            phi, L0 = raw["value"][0, :-1], log_scale + raw["value"][0, -1]
            terms = {}
        else:
            pos, amount = raw["positive"][0], raw["amount"][0]
            a0, a = pos[-1], pos.sum()
            slope = _log_sigmoid_secant(a0, a)
            phi = amount[:-1] + slope * pos[:-1]
            L0 = log_scale + float(log_expit(a0)) + amount[-1]
            terms = {"p_positive": float(np.exp(log_expit(a))),
                     "p_positive_baseline": float(np.exp(log_expit(a0)))}
        delta = float(phi.sum())
        baseline = float(np.exp(L0))
        # exprel(d) = (e^d - 1) / d, exact near d = 0 where the ratio is 0/0.
        money = baseline * float(exprel(delta)) * phi
        names = m.inputs_.feature_names
        contributions = [Contribution(name, _value(row, name, m), float(c))
                         for name, c in zip(names, money)]
        return Explanation.build(
            customer_id=str(row.at[0, "customer_id"]), model=m.name, method=self.method,
            prediction=float(np.exp(L0 + delta)), baseline=baseline,
            contributions=contributions, baseline_description=BASELINE,
            details={"objective": m.objective, "log_space_total": delta, **terms})


def _log_sigmoid_secant(a0: float, a: float) -> float:
    """(log sigmoid(a) - log sigmoid(a0)) / (a - a0), its derivative sigmoid(-a) at a = a0."""
    if abs(a - a0) < 1e-9:
        return float(np.exp(log_expit(-(a + a0) / 2)))
    return float((log_expit(a) - log_expit(a0)) / (a - a0))


def _value(row: pd.DataFrame, name: str, model):
    if name == CALENDAR_FEATURE:
        return int(pd.Timestamp(row.at[0, "cutoff"]).day_of_year)
    value = row.at[0, name]
    if name in model.inputs_.categories:
        return None if pd.isna(value) else str(value)
    return None if pd.isna(value) else float(value)
