"""Explaining a `BTYDModel`: exact Shapley values of three players, in plain words.

A BTYD prediction depends on a customer's summary only: frequency (repeat purchase days),
recency and T (age at the last purchase and at the cutoff, days) and monetary_value (mean
spend of the repeat purchase days). The players are
- "frequency",
- "recency": recency and T together, because they only mean something together (how long
  since the last purchase, out of how long a history); swapping one without the other makes
  rows with recency > T that the model would have to clip;
- "monetary_value".
The value of a coalition S is the model's own `ltv` for the row with S's values from the
customer and the others from the baseline (the typical customer of `rows.typical_customer`):
2^3 = 8 rows, scored in one `predict` call, so discounting, the spend fallback and the
net/gross ratio are all inside. Shapley values over them are exact and sum exactly to
ltv(customer) - ltv(typical customer).

Cost: one predict of 8 rows, ~5-20 ms (the interval simulation dominates it).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ltv.explain.result import Contribution, Explanation
from ltv.explain.rows import one_row
from ltv.explain.shapley import coalitions, shapley_values
from ltv.models import btyd_spend

PLAYERS = {"frequency": ("frequency",), "recency": ("recency", "T"),
           "monetary_value": ("monetary_value",)}
BASELINE = "prediction for the typical customer (median frequency, recency, T and spend)"


class BTYDExplainer:
    """`explain(row)` for a fitted BTYDModel against a baseline row: one feature row with
    at least frequency, recency, T and monetary_value, normally
    `rows.typical_customer(population)` (what `make_explainer` passes)."""

    method = "shapley"

    def __init__(self, model, baseline_row: pd.DataFrame):
        model._check_fitted()
        self.baseline_row = one_row(baseline_row)
        model._check_features(self.baseline_row, model.feature_names_)
        self.model = model

    def coalition_values(self, row: pd.DataFrame) -> dict[frozenset, float]:
        """ltv of every coalition (a frozenset of player names) for this customer."""
        subsets = coalitions(list(PLAYERS))
        table = pd.DataFrame([self._mixed(row, c) for c in subsets])
        ltv = self.model.predict(table)["ltv"].to_numpy(dtype=float)
        return dict(zip(subsets, ltv))

    def _mixed(self, row: pd.DataFrame, coalition: frozenset) -> dict:
        mixed = {"customer_id": str(row.at[0, "customer_id"])}
        for player, columns in PLAYERS.items():
            source = row if player in coalition else self.baseline_row
            for col in columns:
                mixed[col] = float(source[col].iloc[0])
        return mixed

    def explain(self, features: pd.DataFrame | dict) -> Explanation:
        row = one_row(features)
        self.model._check_features(row, self.model.feature_names_)
        values = self.coalition_values(row)
        phi = shapley_values(values, list(PLAYERS))
        everyone, nobody = frozenset(PLAYERS), frozenset()
        contributions = [Contribution(p, _value(row, p), phi[p]) for p in PLAYERS]
        return Explanation.build(
            customer_id=str(row.at[0, "customer_id"]), model=self.model.name,
            method=self.method, prediction=values[everyone], baseline=values[nobody],
            contributions=contributions, baseline_description=BASELINE,
            notes=[sentence(p, row, self.baseline_row, phi[p], self.model) for p in
                   sorted(PLAYERS, key=lambda p: -abs(phi[p]))],
            details={"typical": {c: float(self.baseline_row[c].iloc[0])
                                 for cols in PLAYERS.values() for c in cols},
                     "horizon_days": int(self.model.horizon_days_)})


def _value(row: pd.DataFrame, player: str) -> float:
    return float(row.at[0, PLAYERS[player][0]])


def compare(value: float, typical: float) -> str:
    """'far above', 'above', 'about', 'below' or 'far below' the typical value."""
    if np.isclose(value, typical, rtol=0.1, atol=1e-9):
        return "about"
    if typical <= 0:
        return "above" if value > typical else "below"
    ratio = value / typical
    if ratio >= 3:
        return "far above"
    if ratio > 1:
        return "above"
    return "far below" if ratio <= 1 / 3 else "below"


def _money(amount: float) -> str:
    return f"{amount:+,.0f}" if abs(amount) >= 100 else f"{amount:+,.2f}"


def sentence(player: str, row: pd.DataFrame, typical: pd.DataFrame, contribution: float,
             model) -> str:
    """One plain-English line: what the customer did, against the typical customer, and what
    it adds to or takes from the prediction (currency, over the model's horizon)."""
    get = {c: float(row[c].iloc[0]) for cols in PLAYERS.values() for c in cols}
    base = {c: float(typical[c].iloc[0]) for cols in PLAYERS.values() for c in cols}
    effect = _money(contribution)
    if player == "frequency":
        x, x0 = get["frequency"], base["frequency"]
        return (f"bought again on {x:,.0f} separate {_days(x)}, {compare(x, x0)} the typical "
                f"{x0:,.0f}: {effect}")
    if player == "recency":
        if get["frequency"] <= 0:
            what = f"has not bought again in the {get['T']:,.0f} days since the first purchase"
        else:
            what = (f"last bought {get['T'] - get['recency']:,.0f} days before the cutoff, "
                    f"{get['T']:,.0f} days after the first purchase")
        gap0 = base["T"] - (base["recency"] if base["frequency"] > 0 else 0.0)
        return f"{what} (typical: {gap0:,.0f} days since a purchase): {effect}"
    # Spend per purchase as the model sees it: a customer without repeat purchases (often the
    # typical one) is expected to spend the population's mean, whatever monetary_value says.
    spend, spend0 = (float(btyd_spend.expected_spend(
        model.spend_method_, model.spend_params_, np.array([d["frequency"]]),
        np.array([d["monetary_value"]]))[0]) for d in (get, base))
    if get["frequency"] <= 0:
        what = "no repeat purchase yet, so the model expects the population's"
    else:
        what = (f"spent {get['monetary_value']:,.2f} per repeat purchase day, so the model "
                "expects")
    return (f"{what} {spend:,.2f} per future purchase, {compare(spend, spend0)} the typical "
            f"customer's {spend0:,.2f}: {effect}")


def _days(n: float) -> str:
    return "day" if n == 1 else "days"
