"""The two ways the GBDT predicts value, and the boosters each needs.

Both estimate E[max(net spend, 0)] over the horizon, in currency units:

- "tweedie": one LightGBM regressor with the Tweedie objective (log link) on the label
  clipped at 0. Tweedie (1 < power < 2) is a compound Poisson-gamma: it has a point mass at
  zero and a long right tail, the shape of spend over a horizon. Its labels must be >= 0, so
  net-negative customers (returns outweighing purchases) count as 0: the model predicts
  E[max(spend, 0)] and over-predicts net spend by the expected net-negative amount (0.1% of
  the value in the UCI Online Retail horizon after 2011-09-10).
- "hurdle": P(net spend > 0) from a binary classifier times E[spend | spend > 0] from a
  LightGBM regressor with the gamma objective (log link), trained only on the rows with
  positive spend. Gamma rather than log1p + smearing: gamma's log link estimates the mean
  directly, where a regression on log spend estimates a geometric mean and needs a
  smearing factor that assumes the same residual spread for every customer. The product
  is again E[max(spend, 0)].

The balance correction. Neither log-link fit keeps the total: Tweedie's score equation
weights each residual by mu^(1 - power) and gamma's by 1 / mu, so low-value customers count
more than high-value ones and, with the few trees early stopping allows, the sum of the
predictions falls short of the sum of the labels (by 15-20% on simulated data). The final
`ltv` is therefore multiplied by one factor, `balance_factor_` = sum(max(label, 0)) /
sum(prediction) over the training rows, which restores the "balance property" of a canonical
GLM (Wuthrich 2020) without changing any ranking. The stage-1 models used for the conformal
scores get their own factor from their own training rows.

Units. The boosters learn spend divided by `label_scale_` (the mean clipped label of the
training rows), so their losses, hessians and LightGBM's hessian-based limits
(min_sum_hessian_in_leaf) do not depend on the currency: pricing everything in cents instead
of euros multiplies every prediction by 100 and changes nothing else beyond float rounding
(which can still flip near-tied splits). `to_money` undoes it.

Both report `p_active` from a separate classifier on `label_active` (any purchase in the
horizon, which differs from "net spend > 0" for customers who buy and return).

The "quantile" intervals add two LightGBM quantile regressors on the net (unclipped) label.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ltv.models.gbdt.boosting import Component
from ltv.models.labels import clipped_spend

OBJECTIVES = ("tweedie", "hurdle")
MONEY = ("value", "amount", "q_lo", "q_hi")  # boosters that predict spend; the rest: probabilities


def _spend(frame: pd.DataFrame) -> np.ndarray:
    return frame["label_spend"].to_numpy(dtype=float)


def _positive(frame: pd.DataFrame) -> np.ndarray:
    return _spend(frame) > 0


def components(objective: str, *, tweedie_variance_power: float, interval: str,
               interval_level: float) -> list[Component]:
    """The boosters to train, in a fixed order (their names are the saved file names)."""
    out = [Component("active", {"objective": "binary", "metric": "binary_logloss"},
                     lambda f: f["label_active"].to_numpy(dtype=float) > 0)]
    if objective == "tweedie":
        out.append(Component("value", {"objective": "tweedie", "metric": "tweedie",
                                       "tweedie_variance_power": tweedie_variance_power},
                             clipped_spend))
    else:
        out.append(Component("positive", {"objective": "binary", "metric": "binary_logloss"},
                             _positive))
        out.append(Component("amount", {"objective": "gamma", "metric": "gamma"}, _spend,
                             rows=_positive))
    if interval == "quantile":
        tail = (1.0 - interval_level) / 2
        for name, alpha in (("q_lo", tail), ("q_hi", 1.0 - tail)):
            out.append(Component(name, {"objective": "quantile", "metric": "quantile",
                                        "alpha": alpha}, _spend))
    return out


def to_money(preds: dict[str, np.ndarray], scale: float) -> dict[str, np.ndarray]:
    """Booster outputs with the spend ones multiplied back into currency units."""
    return {k: (v * scale if k in MONEY else v) for k, v in preds.items()}


def combine(objective: str, preds: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(ltv before the balance factor, p_active) from each booster's predictions."""
    ltv = preds["value"] if objective == "tweedie" else preds["positive"] * preds["amount"]
    return np.asarray(ltv, dtype=float), np.asarray(preds["active"], dtype=float)
