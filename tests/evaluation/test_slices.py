"""Sliced evaluation and its flags: a planted bad group is flagged and nothing else is; small,
whale-driven and high-value groups are not; ratios and z statistics in closed form."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest

from ltv.errors import LTVError
from ltv.evaluation import metrics
from ltv.evaluation.slices import (FlagRule, expected_errors, flag_slices, slice_records,
                                   sliced)


def population(seed: int = 5):
    """3,000 customers with calibrated predictions (E[actual | pred] = pred), in five groups:
    "bad" spends 3x what it is predicted (planted), "tiny" is as wrong but has 20 customers,
    "whale" has one customer who spent 3,000 (200x the typical), "high" are customers of 5x
    the value and predicted as such (right, only bigger), "a" is everyone else."""
    rng = np.random.default_rng(seed)
    n = 3000
    value = rng.lognormal(3.0, 1.0, n)
    group = np.array(["a"] * n, dtype=object)
    group[:300] = "bad"
    group[300:320] = "tiny"
    group[320:360] = "whale"
    group[360:660] = "high"
    value[360:660] *= 5
    active = rng.random(n) < 0.4
    actual = np.where(active, value * rng.gamma(4.0, 0.25, n), 0.0)
    pred = 0.4 * value  # E[actual | value]
    actual[:320] *= 3.0  # "bad" and "tiny" spend three times what the model expects
    actual[320] = 3_000.0
    preds = pd.DataFrame({"customer_id": [f"c{i}" for i in range(n)], "model": "m",
                          "ltv": pred, "segment": group})
    return preds, actual


@pytest.fixture(scope="module")
def planted():
    preds, actual = population()
    return preds, actual, sliced(preds, actual, "segment")


def test_exactly_the_planted_group_is_flagged(planted):
    _, _, table = planted
    assert table.index[table["flagged"]].tolist() == ["bad"]
    bad = table.loc["bad"]
    assert bad["flag_error"] and bad["flag_bias"]
    assert bad["reasons"].startswith("error \u00d7") and "bias -" in bad["reasons"]
    # as wrong, but only 20 customers: shown, never flagged
    assert table.loc["tiny", "error_ratio"] > 1.5 and not table.loc["tiny", "flagged"]
    # one customer makes the whale group's error huge; its own spread makes it noise
    whale = table.loc["whale"]
    assert whale["error_ratio"] > 4 and whale["abs_bias_ratio"] > 4
    assert whale["error_z"] < 2 and not whale["flagged"]
    # worth 5x and predicted as such: a big plain MAE ratio, an ordinary error for its value
    high = table.loc["high"]
    assert high["mae_ratio"] > 2.5 and high["error_ratio"] < 1.5 and not high["flagged"]


def test_group_metrics_are_evaluate_on_the_group(planted):
    preds, actual, table = planted
    overall = metrics.evaluate(preds, actual)
    assert table.attrs["overall"]["mae"] == overall["mae"]
    rows = np.flatnonzero(preds["segment"].to_numpy() == "bad")
    bad = metrics.evaluate(preds.iloc[rows].reset_index(drop=True), actual[rows])
    for key in ("n", "mae", "bias", "gini", "decile_mape"):
        assert table.loc["bad", key] == pytest.approx(bad[key])
    assert table.loc["bad", "mae_ratio"] == pytest.approx(bad["mae"] / overall["mae"])
    assert table.loc["bad", "abs_bias_ratio"] == pytest.approx(abs(bad["bias"] / overall["bias"]))
    # the excess over customers predicted alike sums to zero over all customers
    assert (table["n"] * (table["mae"] - table["mae_expected"])).sum() == pytest.approx(
        0.0, abs=1e-6 * overall["mae"] * len(actual))
    # the bias statistic: mean of pred - (1 + overall bias) * actual over the group
    u = preds["ltv"].to_numpy()[rows] - (1 + overall["bias"]) * actual[rows]
    assert table.loc["bad", "bias_excess_mean"] == pytest.approx(u.mean())
    assert table.loc["bad", "bias_z"] == pytest.approx(u.mean() / (u.std(ddof=1) / math.sqrt(300)))


def test_expected_errors_are_bucket_means_by_prediction_rank():
    rng = np.random.default_rng(0)
    pred = rng.permutation(np.arange(200.0))  # distinct: 20 buckets of exactly 10
    err = rng.gamma(1.0, 5.0, 200)
    e = expected_errors(pred, err, 20)
    order = np.argsort(pred)
    blocks = err[order].reshape(20, 10).mean(axis=1)
    np.testing.assert_allclose(e[order], np.repeat(blocks, 10))
    # one tied prediction: one bucket, the expected error is the overall MAE
    np.testing.assert_allclose(expected_errors(np.ones(50), err[:50], 20), err[:50].mean())


def test_with_one_prediction_for_all_error_ratio_is_the_plain_ratio():
    preds, actual = population()
    preds["ltv"] = 12.0
    table = sliced(preds, actual, "segment")
    np.testing.assert_allclose(table["error_ratio"], table["mae_ratio"])


def rule_table():
    """Hand-made group statistics; overall MAE 10, bias -5%, decile MAPE 20%."""
    nan = float("nan")
    cols = ["n", "mae", "mae_expected", "error_excess_sd", "bias", "bias_excess_mean",
            "bias_excess_sd", "decile_mape", "decile_null_mean", "decile_null_sd"]
    rows = {
        "error": [100, 20.0, 10.0, 20.0, -0.05, 0.0, 1.0, nan, nan, nan],  # x2, z = 5
        "noisy": [100, 20.0, 10.0, 40.0, -0.05, 0.0, 1.0, nan, nan, nan],  # x2, z = 2.5
        "small": [20, 90.0, 10.0, 1.0, -0.9, -50.0, 1.0, nan, nan, nan],  # n < 30
        "bias": [400, 10.0, 10.0, 5.0, -0.30, -3.0, 10.0, nan, nan, nan],  # z = -6
        "near": [400, 10.0, 10.0, 5.0, -0.12, -3.0, 10.0, nan, nan, nan],  # gap 7 points
        "decile": [500, 10.0, 10.0, 5.0, -0.05, 0.0, 1.0, 0.5, 0.25, 0.05],  # x2.5, z = 5
        "decile_small": [150, 10.0, 10.0, 5.0, -0.05, 0.0, 1.0, 0.9, 0.25, 0.05],  # n < 200
    }
    return pd.DataFrame.from_dict(rows, orient="index", columns=cols), \
        {"mae": 10.0, "bias": -0.05, "decile_mape": 0.2}


def test_flag_rule_in_closed_form():
    table, overall = rule_table()
    out = flag_slices(table, overall)
    tested = 6  # every group with n >= 30
    level = 0.01 / (tested * 3)
    z_one = NormalDist().inv_cdf(1 - level)
    assert 3.0 < z_one < 4.0
    assert out["mae_ratio"].tolist() == [2.0, 2.0, 9.0, 1.0, 1.0, 1.0, 1.0]
    assert out["error_ratio"].tolist() == [2.0, 2.0, 9.0, 1.0, 1.0, 1.0, 1.0]
    assert out.loc["error", "error_z"] == pytest.approx(5.0)
    assert out.loc["noisy", "error_z"] == pytest.approx(2.5)
    assert out.loc["bias", "abs_bias_ratio"] == pytest.approx(6.0)
    assert out.loc["bias", "bias_z"] == pytest.approx(-6.0)
    assert out.loc["decile", "decile_mape_ratio"] == pytest.approx(2.5)
    assert out.loc["decile", "decile_z"] == pytest.approx(5.0)
    assert np.isnan(out.loc["decile_small", "decile_mape_ratio"])
    assert out.index[out["flagged"]].tolist() == ["error", "bias", "decile"]
    assert out.loc["error", "reasons"] == "error \u00d72.0 vs customers predicted alike"
    assert out.loc["bias", "reasons"] == "bias -30% vs -5% overall"
    assert out.loc["decile", "reasons"] == "decile MAPE \u00d72.5"
    assert out.loc["near", "reasons"] == "" and not out.loc["small", "flagged"]
    # a stricter ratio: x2 is no longer far enough; a laxer level lets "noisy" through
    assert out.index[flag_slices(table, overall, FlagRule(ratio=2.1))["flagged"]].tolist() \
        == ["bias", "decile"]
    lax = flag_slices(table, overall, FlagRule(alpha=0.9))
    assert lax.loc["noisy", "flagged"] and lax.loc["near", "reasons"] == ""


def test_records_are_plain_json_values(planted):
    _, _, table = planted
    records = slice_records(table.assign(share=table["n"] / table["n"].sum()))
    bad = next(r for r in records if r["group"] == "bad")
    assert bad["flagged"] is True and isinstance(bad["n"], int) and bad["n"] == 300
    assert all(r["decile_mape_ratio"] is None for r in records if r["n"] < 200)


def test_missing_groups_and_bad_input():
    preds, actual = population()
    preds.loc[:9, "segment"] = None
    table = sliced(preds, actual, "segment")
    assert table.index.isna().sum() == 1 and table["n"].sum() == len(actual)
    by_array = sliced(preds, actual, preds["segment"].to_numpy())
    assert by_array.index.name == "group" and table.index.name == "segment"
    np.testing.assert_allclose(by_array["mae"].to_numpy(), table["mae"].to_numpy())
    with pytest.raises(LTVError, match="no column 'segmnt'"):
        sliced(preds, actual, "segmnt")
    with pytest.raises(LTVError, match="by: its index differs"):
        sliced(preds, actual, pd.Series(preds["segment"].to_numpy(), index=preds["customer_id"]))
    with pytest.raises(LTVError, match="no column"):
        flag_slices(pd.DataFrame({"n": [1]}), {"mae": 1.0, "bias": 0.0, "decile_mape": 0.1})
    with pytest.raises(LTVError, match="ratio"):
        FlagRule(ratio=0)
