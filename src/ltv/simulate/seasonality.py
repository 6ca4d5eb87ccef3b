"""The purchase-intensity calendar: one seasonal factor per day and its running integral.

Time is measured in days since `start` (midnight UTC). The factor is constant within a
calendar day, so the integral S(t) = integral_0^t season(u) du is piecewise linear and both it
and its inverse are exact and cheap. That is what makes the seasonal Poisson process exact:
a process with intensity lam * season(t) on [a, b) is a unit-rate process in the time
S(t) (Cinlar's time change), i.e. draw Poisson(lam * (S(b) - S(a))) points uniformly in
[S(a), S(b)) and map them back with S^-1. This gives the same process as thinning a process of
rate lam * max(season) with acceptance season(t) / max(season), without the rejected draws.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ltv.simulate.params import SimulationParams

DAYS_PER_YEAR = 365.25


@dataclass(frozen=True)
class SeasonCalendar:
    """Per-day seasonal factors from `start` for `n_days` days.

    factor: shape (n_days,), the multiplier on a customer's base purchase rate on each day.
    cum:    shape (n_days + 1,), cum[k] = sum(factor[:k]) = S(k).
    """

    start: pd.Timestamp
    factor: np.ndarray
    cum: np.ndarray

    @property
    def n_days(self) -> int:
        return len(self.factor)

    def integral(self, t: np.ndarray) -> np.ndarray:
        """S(t) for times t in days, 0 <= t <= n_days."""
        t = np.asarray(t, dtype=np.float64)
        day = np.minimum(t.astype(np.int64), self.n_days - 1)
        return self.cum[day] + self.factor[day] * (t - day)

    def inverse(self, y: np.ndarray) -> np.ndarray:
        """The time t with S(t) = y, for 0 <= y <= S(n_days)."""
        day = np.searchsorted(self.cum, y, side="right") - 1
        np.clip(day, 0, self.n_days - 1, out=day)
        return day + (y - self.cum[day]) / self.factor[day]


def build_calendar(start: pd.Timestamp, n_days: int, params: SimulationParams) -> SeasonCalendar:
    """Factors for the days start, start + 1, ..., start + n_days - 1."""
    if not params.seasonality:
        factor = np.ones(n_days)
    else:
        days = pd.date_range(start, periods=n_days, freq="D")
        weekly = np.asarray(params.weekly, dtype=np.float64)
        weekly = weekly / weekly.mean()
        yearly = yearly_shape(params)
        factor = weekly[days.day_of_week.to_numpy()] * yearly[days.day_of_year.to_numpy() - 1]
    cum = np.concatenate([[0.0], np.cumsum(factor)])
    return SeasonCalendar(start=start, factor=factor, cum=cum)


def yearly_shape(params: SimulationParams) -> np.ndarray:
    """Factor by day of year (index 0 = 1 January, 366 entries), mean 1 over days 1..365.

    A cosine peaking on `yearly_peak_day` plus a Gaussian holiday bump around `holiday_day`.
    """
    doy = np.arange(1, 367, dtype=np.float64)
    shape = 1 + params.yearly_amplitude * np.cos(2 * np.pi * (doy - params.yearly_peak_day)
                                                 / DAYS_PER_YEAR)
    # The bump wraps around New Year so a holiday_day near 1 or 365 keeps its full shape.
    dist = np.abs(doy - params.holiday_day)
    dist = np.minimum(dist, 365 - dist)
    shape = shape + params.holiday_boost * np.exp(-0.5 * (dist / params.holiday_width_days) ** 2)
    return shape / shape[:365].mean()
