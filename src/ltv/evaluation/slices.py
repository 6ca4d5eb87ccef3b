"""Sliced evaluation: the metrics of `evaluate` per group of customers, and a flag on groups
whose error is far above the overall error by more than sampling noise.

Units: predictions and actual values are money over the horizon (currency units).

Three errors are compared with the overall one, per group g of n customers:

- amount error, "error vs customers predicted alike" (`error_ratio`): the group's MAE divided
  by the MAE that customers with the same predicted value have over the whole population.
  Customers are cut into `FlagRule.buckets` (20) equal buckets by prediction rank (tied
  predictions share a bucket); each customer's expected absolute error e_i is the mean
  absolute error of its bucket, and error_ratio = sum_g |pred - actual| / sum_g e_i (1 over
  all customers, by construction). The plain `mae_ratio` (group MAE / overall MAE) is shown
  too, but is not flagged: money errors grow with the amounts, so any high-value group (top
  LTV tier, "champions") has a large plain ratio without the model being any worse there.
- bias (`abs_bias_ratio`): |bias_g| / |bias_all|, bias = sum pred / sum actual - 1.
- decile MAPE (`decile_mape_ratio`), for groups of at least `decile_min_n` (200) customers.

A group is flagged (`flagged`) when it has at least `min_n` (30) customers and any of:

  error   error_ratio >= ratio (1.5) and z >= z_crit, where z is the mean of
          d_i = |pred_i - actual_i| - e_i over the group divided by its standard error
          (sample sd / sqrt(n)): the excess is larger than sampling noise;
  bias    |bias_g| >= ratio * |bias_all|, |bias_g| - |bias_all| >= bias_floor (10 points,
          so 2% against 1% is no alarm), and |z| >= z_crit (two-sided), where z is the mean
          of u_i = pred_i - (1 + bias_all) * actual_i (0 in expectation when the group has the
          overall bias) over its standard error;
  decile  decile_mape_ratio >= ratio and z >= z_crit, where z compares the group's decile
          MAPE with `null_draws` (100) random groups predicted alike (as many customers from
          each prediction bucket as the group has there; mean and sd of their decile MAPE):
          a small group has a larger decile MAPE by noise alone, and a group of low
          spenders by its small denominators alone; this null has both.

z_crit is the normal quantile at `alpha` (0.01) split (Bonferroni) over the groups tested
(those with n >= min_n) and the three errors, so with 15 groups a flag has a family-wise
false-alarm rate of about 1% per attribute. A standard error from the group's own spread
makes a group whose error comes from one or two customers (a whale) unflaggable: the whale
inflates the sd as much as the mean.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

from ltv.errors import LTVError
from ltv.evaluation import metrics
from ltv.evaluation.metrics import _as_array, _binary, _column, _average_ranks

MEASURES = 3  # error, bias, decile MAPE: the Bonferroni split is over groups x measures


@dataclass(frozen=True)
class FlagRule:
    """When a group's error counts as far above the overall error (module docstring)."""

    ratio: float = 1.5
    min_n: int = 30
    alpha: float = 0.01
    bias_floor: float = 0.10
    decile_min_n: int = 200
    buckets: int = 20
    null_draws: int = 100
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("ratio", "alpha", "min_n", "decile_min_n", "buckets", "null_draws"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and value > 0):
                raise LTVError(f"flag rule {name} = {value!r} must be a positive number",
                               f"pass e.g. FlagRule({name}={getattr(FlagRule, name)})")
        if not self.alpha < 1:
            raise LTVError(f"flag rule alpha = {self.alpha} is not a probability",
                           "pass a significance level such as 0.01")
        if self.bias_floor < 0:
            raise LTVError(f"flag rule bias_floor = {self.bias_floor} is negative",
                           "pass a share such as 0.10 (10 points of bias)")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def sliced(predictions: pd.DataFrame, actual: Any, by: Any, active: Any = None, *,
           rule: FlagRule | None = None) -> pd.DataFrame:
    """`metrics.evaluate` per group of `by` (a column name of `predictions`, or one value per
    row), with the error ratios and flags of `flag_slices` (see the module docstring).

    One row per group (missing values of `by` form their own group), indexed by group, sorted.
    Columns: those of `evaluate`, the statistics the flags are computed from (`mae_expected`,
    `error_excess_sd`, `bias_excess_mean`, `bias_excess_sd`, `decile_null_mean`,
    `decile_null_sd`), then the columns `flag_slices` adds. `table.attrs["overall"]` holds
    `evaluate` over all rows.
    """
    rule = rule or FlagRule()
    if isinstance(by, str) and by not in predictions.columns:
        raise LTVError(f"by: no column '{by}' in predictions",
                       "name a column of predictions, or pass one group value per row")
    preds = predictions.reset_index(drop=True)
    groups = predictions[by] if isinstance(by, str) else _column(by, predictions, "by")
    keys = pd.Series(np.asarray(groups, dtype=object),
                     name=getattr(groups, "name", None) or "group")
    if keys.size != preds.shape[0]:
        raise LTVError(f"by has {keys.size} rows but predictions has {preds.shape[0]}",
                       "pass one group value per prediction row, in the same order")
    t = _as_array(_column(actual, predictions, "actual"), "actual")
    y = None if active is None else _binary(_column(active, predictions, "active"), "active")
    overall = metrics.evaluate(preds, t, y)
    p = _as_array(preds["ltv"], "ltv")
    err = np.abs(p - t)
    expected = expected_errors(p, err, rule.buckets)
    bias_all = overall["bias"]
    excess_u = p - (1.0 + bias_all) * t if math.isfinite(bias_all) else np.full(t.size, np.nan)
    rng = np.random.default_rng(rule.seed)
    rows = {}
    for key, idx in keys.groupby(keys, dropna=False, sort=True).groups.items():
        pos = np.asarray(idx)
        row = metrics.evaluate(preds.iloc[pos].reset_index(drop=True), t[pos],
                               None if y is None else y[pos])
        row["mae_expected"] = float(expected[pos].mean())
        row["error_excess_sd"] = _sd(err[pos] - expected[pos])
        row["bias_excess_mean"] = float(excess_u[pos].mean())
        row["bias_excess_sd"] = _sd(excess_u[pos])
        row["decile_null_mean"] = row["decile_null_sd"] = float("nan")
        if _decile_candidate(row, overall, rule):
            null = decile_mape_null(t, p, pos, rule.buckets, rule.null_draws, rng)
            row["decile_null_mean"], row["decile_null_sd"] = null
        rows[key] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = keys.name
    table = flag_slices(table, overall, rule)
    table.attrs["overall"] = overall
    return table


def prediction_buckets(pred: np.ndarray, buckets: int) -> np.ndarray:
    """Bucket 0..k-1 of each customer: `buckets` equal buckets by prediction rank, tied
    predictions in the same bucket (they share their average rank)."""
    n = pred.size
    k = min(int(buckets), n)
    return np.minimum(((_average_ranks(pred) - 0.5) * k / n).astype(int), k - 1)


def expected_errors(pred: np.ndarray, abs_error: np.ndarray, buckets: int) -> np.ndarray:
    """Each customer's expected absolute error: the mean |error| of the customers in the same
    prediction bucket (`prediction_buckets`)."""
    bucket = prediction_buckets(pred, buckets)
    k = int(bucket.max()) + 1
    with np.errstate(invalid="ignore"):  # a bucket emptied by ties is 0 / 0, and unused
        means = np.bincount(bucket, abs_error, k) / np.bincount(bucket, minlength=k)
    return means[bucket]


def decile_mape_null(y_true: np.ndarray, y_pred: np.ndarray, members: np.ndarray,
                     buckets: int, draws: int, rng: np.random.Generator) -> tuple[float, float]:
    """Mean and sd of the decile MAPE of `draws` random groups predicted like the group at
    positions `members`: as many customers from each prediction bucket as the group has
    there, drawn from all customers of that bucket. A group of low spenders is so compared
    with other low spenders, not with the whole range (whose deciles are easier to get
    right in percent)."""
    bucket = prediction_buckets(y_pred, buckets)
    pools = [np.flatnonzero(bucket == b) for b in range(int(bucket.max()) + 1)]
    wanted = np.bincount(bucket[members], minlength=len(pools))
    values = []
    for _ in range(draws):
        pick = np.concatenate([rng.choice(pools[b], size=k, replace=False)
                               for b, k in enumerate(wanted) if k])
        values.append(metrics.decile_mape(y_true[pick], y_pred[pick]))
    arr = np.asarray(values, dtype=float)
    arr = arr[np.isfinite(arr)]
    if arr.size < 2:
        return float("nan"), float("nan")
    return float(arr.mean()), float(arr.std(ddof=1))


def _decile_candidate(row: dict, overall: dict, rule: FlagRule) -> bool:
    """Only a group that could be flagged on decile MAPE pays for its random-group null."""
    dm, dm_all = row["decile_mape"], overall["decile_mape"]
    return (row["n"] >= rule.decile_min_n and math.isfinite(dm) and math.isfinite(dm_all)
            and dm >= rule.ratio * dm_all)


def _sd(values: np.ndarray) -> float:
    return float(np.std(values, ddof=1)) if values.size >= 2 else float("nan")


def _z(mean, se):
    """mean / se, with a zero standard error giving +-inf (or 0 for a zero mean)."""
    mean = np.asarray(mean, dtype=float)
    se = np.asarray(se, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = mean / se
        return np.where(se == 0, np.where(mean == 0, 0.0, np.sign(mean) * np.inf), z)


def critical_values(tested: int, rule: FlagRule) -> tuple[float, float]:
    """(one-sided, two-sided) z thresholds for `tested` groups at the rule's level."""
    level = rule.alpha / max(1, tested * MEASURES)
    normal = NormalDist()
    return normal.inv_cdf(1 - level), normal.inv_cdf(1 - level / 2)


def flag_slices(table: pd.DataFrame, overall: dict[str, float],
                rule: FlagRule | None = None) -> pd.DataFrame:
    """The error ratios, z statistics and flags of each group (a copy of `table`).

    `table` has one row per group with `n`, `mae`, `bias`, `decile_mape` and the statistics
    `mae_expected`, `error_excess_sd`, `bias_excess_mean`, `bias_excess_sd`,
    `decile_null_mean`, `decile_null_sd` (as `sliced` computes them); `overall` has `mae`,
    `bias` and `decile_mape` over all customers. Adds: mae_ratio, error_ratio, error_z,
    abs_bias_ratio, bias_z, decile_mape_ratio, decile_z, flag_error, flag_bias,
    flag_decile, flagged, reasons (text, "" when not flagged). Pure: no data beyond the
    arguments, so the flags can be recomputed from a stored table.
    """
    rule = rule or FlagRule()
    need = ["n", "mae", "bias", "decile_mape", "mae_expected", "error_excess_sd",
            "bias_excess_mean", "bias_excess_sd", "decile_null_mean", "decile_null_sd"]
    missing = [c for c in need if c not in table.columns]
    if missing:
        raise LTVError(f"flag_slices: the table has no column {', '.join(missing)}",
                       "pass the table of ltv.evaluation.slices.sliced")
    out = table.copy()
    n = out["n"].to_numpy(dtype=float)
    big = n >= rule.min_n
    z_one, z_two = critical_values(int(big.sum()), rule)
    root_n = np.sqrt(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["mae_ratio"] = out["mae"] / overall["mae"]
        out["error_ratio"] = out["mae"] / out["mae_expected"]
        bias_all = abs(overall["bias"])
        out["abs_bias_ratio"] = out["bias"].abs() / bias_all
        dm_ok = n >= rule.decile_min_n
        out["decile_mape_ratio"] = np.where(dm_ok, out["decile_mape"] / overall["decile_mape"],
                                            np.nan)
    out["error_z"] = _z(out["mae"] - out["mae_expected"], out["error_excess_sd"] / root_n)
    out["bias_z"] = _z(out["bias_excess_mean"], out["bias_excess_sd"] / root_n)
    out["decile_z"] = _z(out["decile_mape"] - out["decile_null_mean"], out["decile_null_sd"])
    abs_bias = out["bias"].abs()
    # nan compares False everywhere below, so an undefined error never raises a flag
    out["flag_error"] = big & (out["error_ratio"] >= rule.ratio) & (out["error_z"] >= z_one)
    out["flag_bias"] = (big & (abs_bias >= rule.ratio * bias_all)
                        & (abs_bias - bias_all >= rule.bias_floor)
                        & (out["bias_z"].abs() >= z_two))
    out["flag_decile"] = (big & dm_ok & (out["decile_mape_ratio"] >= rule.ratio)
                          & (out["decile_z"] >= z_one))
    out["flagged"] = out["flag_error"] | out["flag_bias"] | out["flag_decile"]
    out["reasons"] = [_reasons(r, overall) for _, r in out.iterrows()]
    return out


def _reasons(row: pd.Series, overall: dict[str, float]) -> str:
    bits = []
    if row["flag_error"]:
        bits.append(f"error \u00d7{row['error_ratio']:.1f} vs customers predicted alike")
    if row["flag_bias"]:
        bits.append(f"bias {100 * row['bias']:+.0f}% vs {100 * overall['bias']:+.0f}% overall")
    if row["flag_decile"]:
        bits.append(f"decile MAPE \u00d7{row['decile_mape_ratio']:.1f}")
    return "; ".join(bits)


RECORD_COLUMNS = ("n", "share", "mean_actual", "mean_pred", "bias", "gini", "spearman", "mae",
                  "mae_ratio", "error_ratio", "error_z", "abs_bias_ratio", "bias_z",
                  "decile_mape", "decile_mape_ratio", "decile_z", "flag_error", "flag_bias",
                  "flag_decile", "flagged", "reasons")


def slice_records(table: pd.DataFrame) -> list[dict[str, Any]]:
    """The table as JSON-ready rows ({"group": ..., column: value}), for stored verdicts."""
    rows = []
    for key, r in table.iterrows():
        row: dict[str, Any] = {"group": None if _isnan(key) else str(key)}
        for column in RECORD_COLUMNS:
            if column in table.columns:
                value = r[column]
                if column in ("flagged", "flag_error", "flag_bias", "flag_decile"):
                    value = bool(value)
                elif column == "reasons":
                    value = str(value)
                elif column == "n":
                    value = int(value)
                else:
                    value = float(value)
                    value = value if math.isfinite(value) else None
                row[column] = value
        rows.append(row)
    return rows


def _isnan(key) -> bool:
    return isinstance(key, float) and math.isnan(key)
