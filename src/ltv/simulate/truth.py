"""Ground truth per customer: closed-form expectations over the horizon and P(alive).

Conventions: T is the observation end (days since start, a midnight), the horizon is
[T, T + H) with H whole days. The intensity is lam * f_d on calendar day d (f = seasonal
factor, constant within a day), so for a customer alive at T with dropout rate mu

    E[purchases in horizon | alive at T] = lam * sum_{j<H} f_{T+j} * e^{-mu j} * (1 - e^{-mu}) / mu

(the integral of lam * f(t) * P(still alive at t) day by day; (1 - e^{-mu}) / mu -> 1 as
mu -> 0). The expected spend multiplies by the mean order value nu and by (1 - return_prob):
spend is net of returns, with each return counted against the order it belongs to.

P(alive at T | history, true lam and mu) for a customer whose last order was at t_x:
the odds of "alive" against "died in (t_x, T) without buying again" are

    e^{-mu G - Lam(t_x, T)}   :   integral_0^G mu e^{-mu u - Lam(t_x, t_x + u)} du,

G = T - t_x, Lam = lam * (S(b) - S(a)) the integrated intensity. The integral is exact, one
calendar day at a time (within a day the exponent is linear).
"""

from __future__ import annotations

import numpy as np

from ltv.simulate.seasonality import SeasonCalendar


def expected_purchases_if_alive(lam: np.ndarray, mu: np.ndarray, cal: SeasonCalendar,
                                t_end: int, horizon_days: int) -> np.ndarray:
    """E[number of orders in [t_end, t_end + horizon_days) | alive at t_end], per customer."""
    decay = np.exp(-mu)
    total = np.zeros_like(lam)
    # Horner's rule over the horizon's days: sum_j f_j x^j with x = e^{-mu}.
    for day in range(t_end + horizon_days - 1, t_end - 1, -1):
        total *= decay
        total += cal.factor[day]
    return lam * total * _day_integral(mu)


def p_alive(lam: np.ndarray, mu: np.ndarray, t_last: np.ndarray, cal: SeasonCalendar,
            t_end: int) -> np.ndarray:
    """P(alive at t_end | last order at t_last, no order in (t_last, t_end)), true rates.

    Cost: one vector step per calendar day, over the customers whose gap covers that day
    (customers are sorted by gap length, so each step works on a prefix slice).
    """
    n = len(lam)
    out = np.ones(n)
    dying = mu > 0
    if not dying.any():
        return out
    idx = np.flatnonzero(dying)
    first_day = np.floor(t_last[idx]).astype(np.int64)
    n_days = t_end - first_day  # calendar days touched by the gap (>= 1 as t_last < t_end)
    order = np.argsort(-n_days, kind="stable")
    idx, first_day, n_days = idx[order], first_day[order], n_days[order]
    lam_s, mu_s = lam[idx], mu[idx]
    # active[j] = number of customers whose gap reaches its (j+1)-th day (a prefix, sorted).
    active = np.searchsorted(-n_days, -np.arange(1, int(n_days[0]) + 1), side="right")

    survival = np.ones(len(idx))  # e^{-mu u - Lam} at the start of the current day piece
    dead = np.zeros(len(idx))  # the integral so far
    length = (first_day + 1) - t_last[idx]  # the first piece runs to the next midnight
    day = first_day.copy()
    # Scratch buffers, reused in place: this loop runs once per calendar day of the longest gap.
    rate, drop, term = np.empty(len(idx)), np.empty(len(idx)), np.empty(len(idx))
    for j, m in enumerate(active):
        r, d, x = rate[:m], drop[:m], term[:m]
        np.take(cal.factor, day[:m], out=r)
        r *= lam_s[:m]
        r += mu_s[:m]  # the day's total hazard of "leaving the no-purchase state"
        np.multiply(r, length[:m] if j == 0 else 1.0, out=d)
        np.negative(d, out=d)
        np.exp(d, out=d)
        np.subtract(1.0, d, out=x)
        x *= survival[:m]
        x *= mu_s[:m]
        x /= r
        dead[:m] += x
        survival[:m] *= d
        day[:m] += 1
    out[idx] = survival / (survival + dead)
    return out


def _day_integral(mu: np.ndarray) -> np.ndarray:
    """(1 - e^{-mu}) / mu: the average survival over one day, 1 when mu = 0."""
    safe = np.where(mu > 0, mu, 1.0)
    return np.where(mu > 0, -np.expm1(-safe) / safe, 1.0)
