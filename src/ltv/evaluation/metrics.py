"""Metrics: pure functions of `(y_true, y_pred)` arrays (lists and Series are accepted too).

Units: `y_true` and `y_pred` are money over the prediction horizon (net: returns make
`y_true` negative for some customers); `p_active` is a probability; `y_active` is 0/1.

Ties. Every ranking metric treats tied predictions as one block whose internal order is
unknown, and reports the *expected* value over all orders of that block. Concretely, within a
block of equal `y_pred` each customer's `y_true` is replaced by the block's mean before the
cumulative sums. This is the tie rule of ROC AUC (a tie counts 1/2; the ROC curve crosses a
tied block on a straight line), so a tie can never let a metric peek at `y_true` the way a
sort on `(y_pred, y_true)` or on the input row order would (rows often arrive sorted by
customer value). Permuting rows never changes any result. Sorting itself is
`np.argsort(..., kind="stable")`, so the work done is deterministic too.
Wang, Liu & Miao (2019)'s reference code (google/lifetime_value, `metrics.py`) sorts with
pandas' default unstable quicksort and buckets with `pd.qcut`, which fails on tied edges;
the rule above replaces both.

Gini. As in the reference code, the normalized Gini is the Gini of the model's cumulative gain
curve (customers sorted by prediction, descending) divided by the Gini of the ideal curve
(sorted by `y_true`). Where the reference takes `2 * mean(gain) - 1` (a right Riemann sum),
we take the exact trapezoid area of the piecewise-linear curve from (0, 0); the two raw
Ginis differ by exactly 1/n. With the area, a random ranking scores 0 in expectation (not
1/n), a reversed ranking scores exactly -1, and for a 0/1 `y_true` the normalized Gini
equals 2*AUC - 1 (the accuracy ratio). Negative `y_true` (net spend with returns) is fine as
long as the total is positive: the gain curve may then leave [0, 1], but by the rearrangement
inequality the ideal order maximizes every prefix sum, so the normalized Gini stays in
[-1, 1]. With a total <= 0 "share of value" means nothing and the result is nan.

Undefined values are nan, never an exception: a constant input to Spearman, one class only for
AUC, zero variance for R², a total actual value <= 0 for bias/Gini/capture. Bad *inputs*
(empty, mismatched lengths, NaN/inf, non-binary labels, probabilities outside [0, 1]) raise
`LTVError` naming the argument and the fix.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from ltv.errors import LTVError

N_DECILES = 10
# A decile whose mean actual is this small relative to mean |y_true| counts as zero: its
# percentage error is undefined and the decile is left out of decile MAPE.
_ZERO_MEAN_RTOL = 1e-12


# ---------------------------------------------------------------- input checks


def _as_array(x: Any, name: str) -> np.ndarray:
    """A 1-D float array, or an LTVError naming `name`, the first bad row and the fix."""
    try:
        if hasattr(x, "to_numpy"):
            arr = x.to_numpy(dtype=float, na_value=np.nan)
        else:
            arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as err:
        raise LTVError(f"{name}: not numeric ({err})",
                       f"pass numbers for {name} (cast the column with astype(float))") from None
    if arr.ndim != 1:
        raise LTVError(f"{name}: expected a 1-D array, got shape {arr.shape}",
                       f"pass one column for {name}, e.g. df['{name}']")
    if arr.size == 0:
        raise LTVError(f"{name}: empty", "evaluate at least one customer")
    if not np.isfinite(arr).all():
        bad = np.flatnonzero(~np.isfinite(arr))
        raise LTVError(
            f"{name}: {arr[bad[0]]} at row {bad[0]} ({bad.size} non-finite values in all)",
            f"every row of {name} needs a finite number: fill or drop those rows first "
            "(a customer with no spend in the horizon has label 0, not NaN)")
    return arr


def _pair(a: Any, b: Any, names: tuple[str, str]) -> tuple[np.ndarray, np.ndarray]:
    x, y = _as_array(a, names[0]), _as_array(b, names[1])
    if x.size != y.size:
        raise LTVError(f"{names[0]} has {x.size} rows but {names[1]} has {y.size}",
                       "pass one value per customer to both, in the same order")
    return x, y


def _binary(a: Any, name: str) -> np.ndarray:
    arr = _as_array(a, name)
    bad = np.flatnonzero((arr != 0) & (arr != 1))
    if bad.size:
        raise LTVError(f"{name}: {arr[bad[0]]} at row {bad[0]} is not 0 or 1",
                       f"{name} is the 0/1 outcome, e.g. (label_spend > 0).astype(int)")
    return arr


def _probability(a: Any, name: str) -> np.ndarray:
    arr = _as_array(a, name)
    bad = np.flatnonzero((arr < 0) | (arr > 1))
    if bad.size:
        raise LTVError(f"{name}: {arr[bad[0]]} at row {bad[0]} is outside [0, 1]",
                       f"{name} must be a probability; clip or fix the model output")
    return arr


def _outcome_pair(y_active: Any, p_active: Any, probability: bool = True):
    y = _binary(y_active, "y_active")
    p = _probability(p_active, "p_active") if probability else _as_array(p_active, "p_active")
    if y.size != p.size:
        raise LTVError(f"y_active has {y.size} rows but p_active has {p.size}",
                       "pass one value per customer to both, in the same order")
    return y, p


# ---------------------------------------------------------------- ties and ranks


def _tie_blocks(sorted_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start index and length of each run of equal values in an already sorted array."""
    starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    return starts, np.diff(np.r_[starts, sorted_keys.size])


def _block_means(values: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    """`values` (in sorted-key order) with each tied block replaced by its mean."""
    starts, counts = _tie_blocks(sorted_keys)
    return np.repeat(np.add.reduceat(values, starts) / counts, counts)


def _true_by_pred(y_true: np.ndarray, y_pred: np.ndarray, descending: bool) -> np.ndarray:
    """y_true ordered by prediction, tied predictions replaced by their block mean."""
    keys = -y_pred if descending else y_pred
    order = np.argsort(keys, kind="stable")
    return _block_means(y_true[order], keys[order])


def _average_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n, ties get the mean of the ranks they span (scipy's method='average')."""
    order = np.argsort(x, kind="stable")
    ranks = np.empty(x.size)
    ranks[order] = _block_means(np.arange(1.0, x.size + 1), x[order])
    return ranks


# ---------------------------------------------------------------- ranking metrics


class GainCurve(NamedTuple):
    """Cumulative share of actual value (y) against the share of customers taken (x).

    `x` runs 0, 1/n, ..., 1; `model` takes customers by descending prediction (tied blocks
    crossed on a straight line), `ideal` by descending actual value. nan where the total
    actual value is <= 0.
    """

    x: np.ndarray
    model: np.ndarray
    ideal: np.ndarray


def _gain(sorted_true: np.ndarray, total: float) -> np.ndarray:
    return np.r_[0.0, np.cumsum(sorted_true)] / total


def gain_curve(y_true: Any, y_pred: Any) -> GainCurve:
    """The model's and the ideal cumulative gain curves, n + 1 points each from (0, 0)."""
    t, p = _pair(y_true, y_pred, ("y_true", "y_pred"))
    x = np.arange(t.size + 1) / t.size
    total = t.sum()
    if total <= 0:
        nan = np.full(x.size, np.nan)
        return GainCurve(x, nan, nan.copy())
    return GainCurve(x, _gain(_true_by_pred(t, p, True), total), _gain(np.sort(t)[::-1], total))


def _raw_gini(gain: np.ndarray) -> float:
    """2 * (trapezoid area under the gain curve) - 1; the curve has n + 1 equally spaced points."""
    n = gain.size - 1
    return float((gain[:-1] + gain[1:]).sum() / n - 1.0)


def normalized_gini(y_true: Any, y_pred: Any) -> float:
    """Gini of the model's gain curve / Gini of the ideal one, in [-1, 1].

    1: the prediction ranks customers exactly as their actual value; 0: no better than
    random; -1: exactly reversed. nan when the total actual value is <= 0 or every customer
    has the same actual value (no ranking can do better than another).
    """
    curve = gain_curve(y_true, y_pred)
    if np.isnan(curve.ideal[-1]):
        return float("nan")
    ideal = _raw_gini(curve.ideal)
    if ideal <= 0:
        return float("nan")
    return _raw_gini(curve.model) / ideal


def top_decile_capture(y_true: Any, y_pred: Any, share: float = 0.10) -> float:
    """Share of the total actual value held by the top `share` of customers by prediction.

    When `share * n` is not a whole number the boundary customer counts for its fraction (the
    gain curve read at x = share), so the metric does not jump with n. nan when the total
    actual value is <= 0. The ideal value is `top_decile_capture(y_true, y_true, share)`.
    """
    if not 0 < share <= 1:
        raise LTVError(f"share: {share} is outside (0, 1]", "pass e.g. share=0.10 for the top 10%")
    curve = gain_curve(y_true, y_pred)
    return float(np.interp(share, curve.x, curve.model))


def spearman(y_true: Any, y_pred: Any) -> float:
    """Spearman rank correlation (average ranks for ties), as scipy.stats.spearmanr.

    nan when either input is constant (the correlation is undefined; scipy also gives nan).
    """
    t, p = _pair(y_true, y_pred, ("y_true", "y_pred"))
    return _pearson(_average_ranks(t), _average_ranks(p))


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    denom = np.sqrt((a * a).sum() * (b * b).sum())
    if denom == 0:
        return float("nan")
    return float(np.clip((a * b).sum() / denom, -1.0, 1.0))


def auc(y_active: Any, p_active: Any) -> float:
    """ROC AUC of `p_active` against the 0/1 outcome (Mann-Whitney U with midranks).

    Equals sklearn's roc_auc_score: a positive/negative pair tied on p_active counts 1/2.
    nan when only one class is present (sklearn raises instead).
    """
    y, p = _outcome_pair(y_active, p_active, probability=False)
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    rank_sum = _average_ranks(p)[y == 1].sum()
    return float((rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


# ---------------------------------------------------------------- deciles and calibration


def decile_table(y_true: Any, y_pred: Any, bins: int = N_DECILES) -> pd.DataFrame:
    """Customers in `bins` equal buckets by prediction rank; mean predicted vs actual per bucket.

    Bucket 1 holds the lowest predictions, bucket `bins` the highest. With n not a multiple of
    `bins`, sizes differ by at most one (row i of the ascending order goes to i * bins // n).
    A tied block of predictions cut by a bucket edge gives its mean actual value to each side
    (see the module notes on ties). Columns: decile, n, mean_pred, mean_actual, ape (the
    absolute percentage error |mean_pred - mean_actual| / |mean_actual|, nan where the
    mean actual is zero).
    """
    t, p = _pair(y_true, y_pred, ("y_true", "y_pred"))
    if bins < 1 or t.size < bins:
        raise LTVError(f"decile table: {t.size} rows cannot fill {bins} buckets",
                       f"evaluate at least {bins} customers, or pass fewer bins")
    order = np.argsort(p, kind="stable")
    pred_sorted = p[order]
    true_sorted = _block_means(t[order], pred_sorted)
    bucket = np.arange(t.size) * bins // t.size
    n = np.bincount(bucket, minlength=bins)
    mean_pred = np.bincount(bucket, pred_sorted, bins) / n
    mean_actual = np.bincount(bucket, true_sorted, bins) / n
    zero = np.abs(mean_actual) <= _ZERO_MEAN_RTOL * np.abs(t).mean()
    with np.errstate(divide="ignore", invalid="ignore"):
        ape = np.where(zero, np.nan, np.abs(mean_pred - mean_actual) / np.abs(mean_actual))
    return pd.DataFrame({"decile": np.arange(1, bins + 1), "n": n, "mean_pred": mean_pred,
                         "mean_actual": mean_actual, "ape": ape})


def decile_mape(y_true: Any, y_pred: Any, bins: int = N_DECILES) -> float:
    """Mean over prediction-rank deciles of |mean pred - mean actual| / |mean actual|.

    A decile whose mean actual value is zero (e.g. the bottom deciles of a population where
    most customers never return) has no percentage error and is skipped, not filled with an
    epsilon that would swamp the average; nan when every decile is skipped. A negative mean
    actual (returns outweigh purchases) is divided by its absolute value.
    """
    ape = decile_table(y_true, y_pred, bins)["ape"].to_numpy()
    kept = ape[~np.isnan(ape)]
    return float(kept.mean()) if kept.size else float("nan")


def calibration_table(y_active: Any, p_active: Any, bins: int = 10) -> pd.DataFrame:
    """Observed rate of the outcome per equal-width bin of `p_active` on [0, 1].

    Bin k covers [k/bins, (k+1)/bins), the last one includes 1. Empty bins are left out.
    Columns: bin, lo, hi, mean_pred, observed_rate, n.
    """
    y, p = _outcome_pair(y_active, p_active)
    if bins < 1:
        raise LTVError(f"bins: {bins} is below 1", "pass e.g. bins=10")
    edges = np.arange(bins + 1) / bins  # i / bins is exact where linspace's i * step is not
    k = np.minimum(np.searchsorted(edges, p, side="right") - 1, bins - 1)
    n = np.bincount(k, minlength=bins)
    kept = n > 0
    return pd.DataFrame({
        "bin": np.flatnonzero(kept), "lo": edges[:-1][kept], "hi": edges[1:][kept],
        "mean_pred": np.bincount(k, p, bins)[kept] / n[kept],
        "observed_rate": np.bincount(k, y, bins)[kept] / n[kept], "n": n[kept]})


def brier(y_active: Any, p_active: Any) -> float:
    """Mean squared difference between `p_active` and the 0/1 outcome (0 is perfect)."""
    y, p = _outcome_pair(y_active, p_active)
    return float(np.mean((p - y) ** 2))


# ---------------------------------------------------------------- errors and intervals


def mae(y_true: Any, y_pred: Any) -> float:
    """Mean absolute error, currency units."""
    t, p = _pair(y_true, y_pred, ("y_true", "y_pred"))
    return float(np.mean(np.abs(p - t)))


def rmse(y_true: Any, y_pred: Any) -> float:
    """Root mean squared error, currency units."""
    t, p = _pair(y_true, y_pred, ("y_true", "y_pred"))
    return float(np.sqrt(np.mean((p - t) ** 2)))


def r2(y_true: Any, y_pred: Any) -> float:
    """1 - SS_res / SS_tot (can be negative); nan when y_true is constant."""
    t, p = _pair(y_true, y_pred, ("y_true", "y_pred"))
    ss_tot = float(((t - t.mean()) ** 2).sum())
    if ss_tot == 0:
        return float("nan")
    return 1.0 - float(((t - p) ** 2).sum()) / ss_tot


def bias(y_true: Any, y_pred: Any) -> float:
    """Σpred / Σactual - 1: positive means the model over-predicts total value.

    nan when Σactual <= 0 (the ratio then has no sign you could read).
    """
    t, p = _pair(y_true, y_pred, ("y_true", "y_pred"))
    total = t.sum()
    if total <= 0:
        return float("nan")
    with np.errstate(over="ignore"):  # a vanishing total gives inf, an honest answer
        return float(p.sum() / total - 1.0)


def interval_coverage(y_true: Any, lo: Any, hi: Any) -> float:
    """Share of customers with lo <= y_true <= hi (both ends included), in [0, 1]."""
    t, low = _pair(y_true, lo, ("y_true", "ltv_lo"))
    _, high = _pair(y_true, hi, ("y_true", "ltv_hi"))
    bad = np.flatnonzero(low > high)
    if bad.size:
        raise LTVError(f"ltv_lo: {low[bad[0]]} above ltv_hi {high[bad[0]]} at row {bad[0]}",
                       "an interval needs ltv_lo <= ltv_hi; check the model's quantiles")
    return float(np.mean((low <= t) & (t <= high)))


# ---------------------------------------------------------------- whole predictions tables


def _column(values: Any, predictions: pd.DataFrame, name: str) -> Any:
    """`values` for positional use, refusing a Series indexed differently from `predictions`."""
    if isinstance(values, pd.Series) and not values.index.equals(predictions.index):
        raise LTVError(
            f"{name}: its index differs from the predictions' index, so rows may not line up",
            f"align it first, e.g. {name}.reindex(predictions.index) (or "
            f"predictions['customer_id'].map({name})), or pass {name}.to_numpy()")
    return values


def evaluate(predictions: pd.DataFrame, actual: Any, active: Any = None) -> dict[str, Any]:
    """Every metric for one predictions table against the horizon's actual net spend.

    `predictions` has `ltv` and, optionally, `ltv_lo`/`ltv_hi` (coverage) and `p_active`
    (auc, brier); a missing column gives nan for its metrics. `actual` is one label per row
    in the same order (a Series must share the predictions' index). `active` is the 0/1
    outcome for p_active; by default actual > 0 (pass `label_active` when a customer can buy
    and return everything, leaving net spend 0). Deciles need at least 10 rows: fewer give
    nan for decile_mape.
    """
    if "ltv" not in predictions.columns:
        raise LTVError("predictions: no 'ltv' column",
                       "pass the predictions table (customer_id, model, ltv, ...)")
    pred = _as_array(predictions["ltv"], "ltv")
    t = _as_array(_column(actual, predictions, "actual"), "actual")
    if t.size != pred.size:
        raise LTVError(f"actual has {t.size} rows but predictions has {pred.size}",
                       "pass one label per prediction row, in the same order")
    nan = float("nan")
    out = {
        "n": int(t.size), "mean_pred": float(pred.mean()), "mean_actual": float(t.mean()),
        "gini": normalized_gini(t, pred), "spearman": spearman(t, pred),
        "top_decile_capture": top_decile_capture(t, pred),
        "top_decile_capture_ideal": top_decile_capture(t, t),
        "decile_mape": decile_mape(t, pred) if t.size >= N_DECILES else nan,
        "mae": mae(t, pred), "rmse": rmse(t, pred), "r2": r2(t, pred), "bias": bias(t, pred),
        "coverage": nan, "auc": nan, "brier": nan,
    }
    if {"ltv_lo", "ltv_hi"} <= set(predictions.columns):
        out["coverage"] = interval_coverage(t, predictions["ltv_lo"], predictions["ltv_hi"])
    if "p_active" in predictions.columns:
        y = (t > 0).astype(float) if active is None else _column(active, predictions, "active")
        out["auc"] = auc(y, predictions["p_active"])
        out["brier"] = brier(y, predictions["p_active"])
    return out
