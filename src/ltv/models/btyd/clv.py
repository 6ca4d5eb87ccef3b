"""Customer lifetime value: expected purchases x expected spend, discounted.

Units: every time is in days; spend is in the currency of `monetary_value`; the discount rate
is annual (0.1 = 10% a year).
"""

from __future__ import annotations

import numpy as np

from ltv.errors import LTVError
from ltv.models.btyd.data import as_float_array, check_rfm

DAYS_PER_YEAR = 365.25


def discount_steps(horizon_days: float, step_days: float, discount_rate_annual: float):
    """Ends of the steps (days) and the discount factor applied to each step's purchases.

    Steps are step_days long and the last one ends at the horizon (it may be shorter). A step's
    purchases are discounted as if they happened at its end: (1 + d) ** -(end / 365.25).
    """
    if not (np.isfinite(horizon_days) and horizon_days > 0):
        raise LTVError(f"horizon_days={horizon_days!r} is not a positive number",
                       "pass the horizon in days, e.g. 365")
    if not (np.isfinite(step_days) and step_days > 0):
        raise LTVError(f"step_days={step_days!r} is not a positive number",
                       "pass the discounting step in days, e.g. 30")
    if not (np.isfinite(discount_rate_annual) and discount_rate_annual > -1):
        raise LTVError(f"discount_rate_annual={discount_rate_annual!r} is not a number > -1",
                       "pass an annual rate such as 0.1 for 10% a year, or 0 for none")
    n = int(np.ceil(horizon_days / step_days - 1e-9))
    ends = np.minimum(np.arange(1, n + 1) * float(step_days), float(horizon_days))
    factors = (1.0 + discount_rate_annual) ** -(ends / DAYS_PER_YEAR)
    return ends, factors


def customer_lifetime_value(transaction_model, spend_model, frequency, recency, T,
                            monetary_value, horizon_days: float,
                            discount_rate_annual: float = 0.0,
                            step_days: float = 30.0) -> np.ndarray:
    """Discounted expected spend over the next `horizon_days`, per customer (currency).

    CLV = sum_i (E[X(T, T+e_i)] - E[X(T, T+e_(i-1))]) * spend * (1 + d) ** -(e_i / 365.25),
    with e_i the end of step i (see `discount_steps`), E[X] from `transaction_model` (BetaGeo or
    ParetoNBD) and spend = `spend_model.conditional_expected_spend(frequency, monetary_value)`
    (a GammaGamma), or `monetary_value` itself when `spend_model` is None. Times in days.
    With discount_rate_annual = 0 this is expected purchases over the horizon times spend.
    """
    x, t_x, T = check_rfm(frequency, recency, T)
    if spend_model is None:
        spend = as_float_array("monetary_value", monetary_value, x.size)
    else:
        spend = spend_model.conditional_expected_spend(frequency, monetary_value)
    ends, factors = discount_steps(horizon_days, step_days, discount_rate_annual)
    if hasattr(transaction_model, "expected_purchases_curve"):
        cumulative = transaction_model.expected_purchases_curve(ends, x, t_x, T)
    else:
        cumulative = np.stack([transaction_model.expected_purchases(e, x, t_x, T)
                               for e in ends], axis=1)
    per_step = np.diff(cumulative, axis=1, prepend=0.0)
    return per_step @ factors * spend
