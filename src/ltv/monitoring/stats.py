"""The drift statistics, as pure functions of a stored reference and a current sample.

- PSI (population stability index) over the reference's bins:
  PSI = sum_i (c_i - r_i) * ln(c_i / r_i), with shares floored at EPSILON so an empty bin
  stays finite. Under no drift, with n reference and m current rows drawn independently,
  PSI / (1/n + 1/m) is asymptotically chi-square with (bins - 1) degrees of freedom
  (Yurdakul 2018), so `psi_critical` gives the value that noise alone exceeds with
  probability alpha: small samples need a larger PSI before it means anything.
- KS (Kolmogorov-Smirnov) between the reference's 101 stored quantiles and the current
  values: the reference CDF is the piecewise-linear interpolation of (quantile, p), which is
  within 0.01 of the true reference CDF wherever it is continuous, so the statistic is within
  0.01 of the two-sample statistic on the raw reference rows. `ks_critical` is the two-sample
  critical value c(alpha) * sqrt((n + m) / (n m)).
- Missing-rate jump and its noise level: a difference of two proportions.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

EPSILON = 1e-4  # floor on a bin share: PSI stays finite when a bin is empty on one side


def psi(reference_shares, current_shares) -> float:
    """PSI between two share vectors over the same bins (each summing to 1)."""
    ref = np.maximum(np.asarray(reference_shares, dtype=float), EPSILON)
    cur = np.maximum(np.asarray(current_shares, dtype=float), EPSILON)
    if ref.shape != cur.shape:
        raise ValueError(f"PSI needs shares over the same bins, got {ref.shape} and {cur.shape}")
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def psi_critical(bins: int, n_reference: int, n_current: int, alpha: float) -> float:
    """The PSI that sampling noise alone exceeds with probability `alpha` (see module doc)."""
    if bins < 2 or n_reference < 1 or n_current < 1:
        return math.inf
    return float(stats.chi2.ppf(1 - alpha, bins - 1) * (1 / n_reference + 1 / n_current))


def reference_cdf(quantiles, x: np.ndarray, side: str = "right") -> np.ndarray:
    """The reference CDF at `x`, from quantiles at p = 0, 1/(k-1), ..., 1.

    Between two distinct quantiles it is linear; at a run of equal quantiles (an atom) it
    jumps: `side="right"` gives F(x) (the top of the run), `side="left"` F(x-) (the bottom).
    """
    q = np.asarray(quantiles, dtype=float)
    p = np.linspace(0.0, 1.0, len(q))
    x = np.asarray(x, dtype=float)
    # np.interp uses the last of equal xp values' fp for x == xp: right-continuous. For the
    # left limit, interpolate on the reversed, negated axis.
    if side == "right":
        out = np.interp(x, q, p, left=0.0, right=1.0)
    else:
        out = 1.0 - np.interp(-x, -q[::-1], 1.0 - p[::-1], left=0.0, right=1.0)
    return out


def ks_from_quantiles(quantiles, current: np.ndarray) -> float:
    """sup_x |F_ref(x) - F_cur(x)| between the reference given by its quantiles and the
    empirical CDF of the finite `current` values (0 when either side is empty)."""
    cur = np.sort(np.asarray(current, dtype=float))
    cur = cur[np.isfinite(cur)]
    q = np.asarray(quantiles, dtype=float)
    if not len(cur) or not len(q):
        return 0.0
    # Both CDFs are monotone, and F_ref is linear between its quantiles, so the sup is reached
    # at a jump of either CDF: check both one-sided limits at every current value and every
    # reference quantile.
    points = np.unique(np.concatenate([cur, q]))
    cur_right = np.searchsorted(cur, points, side="right") / len(cur)
    cur_left = np.searchsorted(cur, points, side="left") / len(cur)
    gaps = np.concatenate([np.abs(reference_cdf(q, points, "right") - cur_right),
                           np.abs(reference_cdf(q, points, "left") - cur_left)])
    return float(gaps.max())


def ks_critical(n_reference: int, n_current: int, alpha: float) -> float:
    """Two-sample KS critical value at level `alpha` (asymptotic)."""
    if n_reference < 1 or n_current < 1:
        return math.inf
    c = math.sqrt(-math.log(alpha / 2) / 2)
    return c * math.sqrt((n_reference + n_current) / (n_reference * n_current))


def missing_noise(p_reference: float, n_reference: int, n_current: int, alpha: float) -> float:
    """The missing-rate change that sampling noise alone exceeds with probability `alpha`
    (two-sided normal test of two proportions at the reference rate)."""
    if n_reference < 1 or n_current < 1:
        return math.inf
    z = stats.norm.ppf(1 - alpha / 2)
    p = min(max(p_reference, 0.0), 1.0)
    return float(z * math.sqrt(p * (1 - p) * (1 / n_reference + 1 / n_current)))
