"""Prediction intervals for a horizon's purchases and spend, from the posterior predictive.

For each customer we draw, given their history, whether they are still alive, their purchase
rate (and dropout probability or lifetime), the number of purchases in the horizon, their
spend rate nu from the Gamma-Gamma posterior, and the total spend of those purchases (a sum of
N Gamma(p, nu) values is Gamma(p N, nu)). The interval is the central `level` quantile range
of those draws. It is for undiscounted spend, in currency, over the horizon in days; its
Monte Carlo error shrinks as 1 / sqrt(n_draws).

Cost: about six random draws per customer and draw, i.e. roughly 0.3-0.5 ms per customer at
n_draws=1000 on a busy 2-core machine (100k customers: ~1 minute). For large populations use
fewer draws, or compute intervals for a sample / the customers that matter. (An exact route,
P(X = n) per customer mixed with the beta-prime law of the Gamma-Gamma spend, would avoid the
simulation; it is not implemented.)
"""

from __future__ import annotations

import numpy as np

from ltv.errors import LTVError
from ltv.models.btyd.data import as_float_array, check_rfm


def predictive_interval(transaction_model, spend_model, frequency, recency, T, monetary_value,
                        horizon_days: float, level: float = 0.8, n_draws: int = 1000,
                        seed: int | None = 0, chunk_size: int = 20_000) -> dict[str, np.ndarray]:
    """Central `level` intervals of purchases and spend over the next `horizon_days`.

    Returns arrays of length n_customers: `purchases_lo`, `purchases_hi`, `spend_lo`,
    `spend_hi`, and `spend_mean` (the Monte Carlo mean, a check against the closed form).
    `spend_model` is a fitted GammaGamma, or None to use `monetary_value` as a fixed spend per
    purchase. Memory is chunk_size x n_draws floats at a time.
    """
    if not 0 < level < 1:
        raise LTVError(f"level={level!r} is not between 0 and 1",
                       "pass the interval's coverage, e.g. 0.8 for the 10%-90% range")
    if not (isinstance(n_draws, (int, np.integer)) and n_draws > 0):
        raise LTVError(f"n_draws={n_draws!r} is not a positive integer", "use e.g. 1000")
    x, t_x, T = check_rfm(frequency, recency, T)
    m = as_float_array("monetary_value", monetary_value, x.size)
    rng = np.random.default_rng(seed)
    q = [(1 - level) / 2, (1 + level) / 2]
    out = {k: np.zeros(x.size) for k in
           ("purchases_lo", "purchases_hi", "spend_lo", "spend_hi", "spend_mean")}
    for start in range(0, x.size, chunk_size):
        sl = slice(start, start + chunk_size)
        n = transaction_model.sample_purchases(horizon_days, x[sl], t_x[sl], T[sl],
                                               n_draws=n_draws, rng=rng)
        if spend_model is None:
            spend = n * m[sl, None]
        else:
            spend = spend_model.sample_spend(n, x[sl], m[sl], rng=rng)
        out["purchases_lo"][sl], out["purchases_hi"][sl] = np.quantile(n, q, axis=1)
        out["spend_lo"][sl], out["spend_hi"][sl] = np.quantile(spend, q, axis=1)
        out["spend_mean"][sl] = spend.mean(axis=1)
    return out
