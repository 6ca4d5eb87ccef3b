"""Prediction intervals [ltv_lo, ltv_hi] for the horizon's net spend, in currency units.

"conformal" (split conformal, normalized residuals). On the held-out validation window the
stage-1 models (which never saw it, see `boosting`) give predictions p_i; each customer's
score is |y_i - p_i| / (p_i + s), where s (`conformal_scale_`) is the mean validation
prediction, a floor in currency units that keeps the scores of near-zero predictions finite
and makes q unit-free (scaling all money by 1000 leaves q unchanged). q (`conformal_q_`) is
the ceil((n + 1) * level)-th smallest score, and the interval for a new customer is
[max(0, p - q (p + s)), p + q (p + s)]: wider for customers predicted to be worth more.
Because the lower end is clipped at 0, a customer whose net spend is negative (returns) is
never covered; their score is +inf, so q already pays for them and the coverage stays honest.

What the coverage means: if the customers of the predicted window are exchangeable with
those of the validation window, at least `level` of them (on average over draws of the
validation window) have their actual net spend inside their interval. It is *marginal*
coverage over customers, not a per-customer probability, and it is not guaranteed under
drift: a season busier than the validation window's under-covers. Predictions come from the
refit models, which saw more data than the stage-1 models the scores were measured on; this
usually makes the intervals slightly conservative.

"quantile". Two LightGBM quantile regressors estimate the (1 - level) / 2 and (1 + level) / 2
conditional quantiles of net spend; the lower one is clipped at 0. The coverage is that of the
fitted quantiles: asymptotic and per-customer in intent, with no finite-sample guarantee (the
quantile trees often under-cover a zero-inflated label). The interval is widened to contain
`ltv` (the mean can lie above the upper quantile when P(active) is small).
"""

from __future__ import annotations

import math
import warnings

import numpy as np

INTERVALS = ("conformal", "quantile")


def conformal_scale(valid_pred: np.ndarray) -> float:
    mean = float(np.mean(valid_pred)) if valid_pred.size else 0.0
    return mean if mean > 0 else 1.0


def conformal_scores(y: np.ndarray, pred: np.ndarray, scale: float) -> np.ndarray:
    scores = np.abs(y - pred) / (pred + scale)
    scores[y < 0] = np.inf  # the interval starts at 0: a negative net spend is never inside
    return scores


def conformal_quantile(scores: np.ndarray, level: float) -> float:
    """The ceil((n + 1) * level)-th smallest score (split conformal's finite-sample rank)."""
    n = scores.size
    finite = scores[np.isfinite(scores)]
    if finite.size == 0:
        raise ValueError("no finite conformal score")
    k = math.ceil((n + 1) * level)
    if k > n:
        warnings.warn(f"{n} validation rows are too few for a {level:.0%} conformal interval; "
                      "using the largest score (coverage may fall short)", stacklevel=3)
        k = n
    q = float(np.sort(scores)[k - 1])
    if not np.isfinite(q):
        warnings.warn(f"more than {1 - level:.0%} of the validation customers have a negative "
                      "net spend, which an interval starting at 0 cannot cover; using the "
                      "largest finite score", stacklevel=3)
        q = float(finite.max())
    return q


def conformal_bounds(pred: np.ndarray, q: float, scale: float) -> tuple[np.ndarray, np.ndarray]:
    half = q * (pred + scale)
    return np.maximum(pred - half, 0.0), pred + half


def quantile_bounds(q_lo: np.ndarray, q_hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lo = np.maximum(np.asarray(q_lo, dtype=float), 0.0)
    return lo, np.maximum(np.asarray(q_hi, dtype=float), lo)
