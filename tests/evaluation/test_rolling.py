"""Rolling-origin backtest on a small simulated shop: origins, values, no leakage, errors, CLI.

Each origin's metrics are checked against a one-shot `backtest_warehouse` run on a warehouse
that holds only the rows before that origin's horizon end (so the two share no data after it),
and the labels behind them against sums computed here from the raw transactions.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from ltv.cli import app
from ltv.errors import LTVError
from ltv.evaluation.backtest import backtest_warehouse
from ltv.evaluation.rolling import RollingResult, rolling_origin_backtest, summarize
from ltv.io.ingest import ingest
from ltv.simulate import SimulationParams, simulate

CUTOFF, HORIZON, ORIGINS, STEP, MODELS = "2022-10-01", 60, 3, 30, "btyd,gbdt"
EXPECTED_ORIGINS = [pd.Timestamp("2022-10-01"), pd.Timestamp("2022-09-01"),
                    pd.Timestamp("2022-08-02")]
METRICS = ["n", "mean_actual", "mean_pred", "gini", "spearman", "decile_mape",
           "top_decile_capture", "auc", "bias", "coverage", "mae"]


def warehouse(frame: pd.DataFrame, path: Path) -> Path:
    """A warehouse holding exactly `frame` (duplicates kept, as the backtests ingest)."""
    source = path.with_suffix(".parquet")
    frame.to_parquet(source, index=False)
    ingest(source, db=path, duplicates="keep")
    return path


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    root = tmp_path_factory.mktemp("rolling_shop")
    simulate(500, root / "sim", start="2022-04-01", end="2022-12-31", horizon_days=HORIZON,
             seed=5, params=SimulationParams(events=False))
    tx = pd.read_parquet(root / "sim" / "transactions")
    return root, tx, warehouse(tx, root / "shop.duckdb")


@pytest.fixture(scope="module")
def rolled(shop) -> RollingResult:
    _, _, db = shop
    calls = []
    result = rolling_origin_backtest(db, CUTOFF, HORIZON, origins=ORIGINS, step_days=STEP,
                                     models=MODELS, progress=lambda *a: calls.append(a))
    result.progress_calls = calls
    return result


def test_one_row_per_origin_and_model_newest_first(rolled):
    frame = rolled.per_origin
    assert len(frame) == ORIGINS * 2
    assert list(frame["origin"]) == [o for o in EXPECTED_ORIGINS for _ in range(2)]
    assert list(frame["model"]) == ["btyd", "gbdt"] * ORIGINS
    assert rolled.origins == EXPECTED_ORIGINS
    assert rolled.horizon_days == HORIZON
    # oldest first, so a short history fails before the long fits; then one final call
    assert [c[0] for c in rolled.progress_calls] == [0, 1, 2, 3]
    assert rolled.progress_calls[0][2] == "origin 2022-08-02"


def test_summary_is_mean_and_sample_std_over_origins(rolled):
    summary = rolled.summary.set_index(["model", "metric"])
    for model, group in rolled.per_origin.groupby("model"):
        for metric in ["gini", "spearman", "decile_mape", "top_decile_capture", "n"]:
            values = group[metric].to_numpy(dtype=float)
            row = summary.loc[(model, metric)]
            assert row["mean"] == pytest.approx(values.sum() / 3, rel=1e-12)
            sd = np.sqrt(((values - values.mean()) ** 2).sum() / 2)
            assert row["std"] == pytest.approx(sd, rel=1e-9)
            assert row["origins"] == 3


def test_a_metric_undefined_at_one_origin_has_an_undefined_mean():
    per_origin = pd.DataFrame({"origin": pd.to_datetime(["2022-10-01", "2022-09-01"]),
                               "model": ["btyd", "btyd"], "gini": [0.5, 0.7],
                               "decile_mape": [0.2, float("nan")]})
    summary = summarize(per_origin).set_index("metric")
    assert summary.loc["gini", "mean"] == pytest.approx(0.6)
    assert summary.loc["gini", "std"] == pytest.approx(np.sqrt(0.02))
    assert np.isnan(summary.loc["decile_mape", "mean"])  # not 0.2 from the one defined origin
    one = summarize(per_origin.head(1)).set_index("metric")
    assert one.loc["gini", "mean"] == 0.5 and np.isnan(one.loc["gini", "std"])


def test_labels_match_sums_of_the_raw_transactions(shop, rolled):
    _, tx, _ = shop
    for origin in EXPECTED_ORIGINS:
        seen = tx.loc[tx["ts"] < origin, "customer_id"].unique()
        window = tx[(tx["ts"] >= origin) & (tx["ts"] < origin + pd.Timedelta(days=HORIZON))]
        spend = window[window["customer_id"].isin(seen)]["amount"].sum()
        for _, row in rolled.per_origin[rolled.per_origin["origin"] == origin].iterrows():
            assert row["n"] == len(seen)
            assert row["mean_actual"] == pytest.approx(spend / len(seen), rel=1e-9)


def test_each_origin_equals_a_one_shot_backtest_on_data_cut_at_its_horizon(shop, rolled,
                                                                           tmp_path):
    # btyd only, to keep the test quick: each family is fitted on its own, so it is the same
    # fit as inside the two-family run
    _, tx, _ = shop
    for origin in EXPECTED_ORIGINS:
        cut = tx[tx["ts"] < origin + pd.Timedelta(days=HORIZON)]
        db = warehouse(cut, tmp_path / f"cut_{origin:%Y%m%d}.duckdb")
        one_shot = backtest_warehouse(db, origin, HORIZON, out=tmp_path / "p.csv", models="btyd")
        row = rolled.per_origin.set_index(["origin", "model"]).loc[(origin, "btyd")]
        for metric in METRICS:
            assert row[metric] == pytest.approx(one_shot.metrics["btyd"][metric], rel=1e-9,
                                                nan_ok=True), (origin, metric)


def test_rows_far_after_the_last_horizon_change_nothing(shop, rolled, tmp_path):
    _, tx, _ = shop
    late = tx.sample(300, random_state=0).assign(
        ts=pd.Timestamp("2023-06-01 12:00"), amount=5_000.0)  # existing customers, huge spend
    newcomers = late.head(50).assign(customer_id=[f"new{i}" for i in range(50)])
    db = warehouse(pd.concat([tx, late, newcomers], ignore_index=True), tmp_path / "late.duckdb")
    # gbdt: the family with the richest features (sequences, category shares, windows)
    again = rolling_origin_backtest(db, CUTOFF, HORIZON, origins=ORIGINS, step_days=STEP,
                                    models="gbdt")
    expected = rolled.per_origin[rolled.per_origin["model"] == "gbdt"].reset_index(drop=True)
    pd.testing.assert_frame_equal(again.per_origin, expected, rtol=1e-9)


def test_unobserved_horizon_names_the_origin_the_last_date_and_the_fix(shop):
    _, tx, db = shop
    assert tx["ts"].max() < pd.Timestamp("2023-01-01")  # the data ends on 2022-12-31
    with pytest.raises(LTVError) as err:
        rolling_origin_backtest(db, "2022-11-15", HORIZON, origins=2, step_days=30,
                                models="btyd")
    text = str(err.value)
    assert "origin(s) 2022-11-15" in text and "2022-10-16" not in text  # the older one is fine
    assert "last transaction is at 2022-12-31" in text
    assert "on or before 2022-11-01" in err.value.fix  # 2022-11-01 + 60 days <= last ts


def test_too_little_history_names_the_oldest_origin(shop):
    _, _, db = shop
    with pytest.raises(LTVError) as err:
        rolling_origin_backtest(db, CUTOFF, HORIZON, origins=3, step_days=60, models="btyd")
    assert err.value.problem.startswith("origin 2022-06-03: the history before 2022-06-03")
    assert "fewer origins" in err.value.fix


@pytest.mark.parametrize("kwargs, name", [(dict(origins=0), "origins"),
                                          (dict(step_days=-30), "step_days"),
                                          (dict(origins=2.5), "origins")])
def test_bad_arguments_are_refused_before_any_work(kwargs, name, tmp_path):
    with pytest.raises(LTVError, match=f"^{name} must be a whole number"):
        rolling_origin_backtest(tmp_path / "absent.duckdb", CUTOFF, HORIZON, **kwargs)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_write_round_trips_per_origin(rolled, tmp_path, suffix):
    out = rolled.write(tmp_path / "sub" / f"rolling{suffix}")
    back = pd.read_csv(out, parse_dates=["origin"]) if suffix == ".csv" else pd.read_parquet(out)
    assert list(back.columns) == list(rolled.per_origin.columns)
    pd.testing.assert_frame_equal(back, rolled.per_origin, check_dtype=False, rtol=1e-12)
    assert [p.name for p in out.parent.iterdir()] == [out.name]  # no temp file left behind


# ---- CLI ------------------------------------------------------------------------------------
runner = CliRunner()


def test_cli_rolling_backtest_from_a_warehouse_and_from_a_file(shop, rolled, tmp_path):
    root, _, db = shop
    btyd = rolled.per_origin[rolled.per_origin["model"] == "btyd"].reset_index(drop=True)
    # the file run has one origin only, to stay quick (its std is then undefined: nan)
    for source, origins in ((["--db", db], 2), (["--transactions", root / "shop.parquet"], 1)):
        out = tmp_path / f"rolling{origins}.csv"
        result = runner.invoke(app, list(map(str, [
            "rolling-backtest", *source, "--cutoff", CUTOFF, "--horizon", HORIZON,
            "--origins", origins, "--step", STEP, "--models", "btyd", "--out", out])))
        assert result.exit_code == 0, result.output
        expected = btyd.head(origins)
        dates = ", ".join(f"{o:%Y-%m-%d}" for o in EXPECTED_ORIGINS[:origins])
        assert f"origins: {dates}\n" in result.output
        gini = f"{expected['gini'].mean():.3f} ± {expected['gini'].std():.3f}"
        assert gini in result.output
        pd.testing.assert_frame_equal(pd.read_csv(out, parse_dates=["origin"]), expected,
                                      check_dtype=False, rtol=1e-9)


def test_cli_errors_are_clean(shop):
    _, _, db = shop
    result = runner.invoke(app, ["rolling-backtest", "--cutoff", CUTOFF])
    assert result.exit_code == 2 and "exactly one of --db and --transactions" in result.output
    result = runner.invoke(app, ["rolling-backtest", "--db", str(db), "--cutoff", "2022-12-01",
                                 "--horizon", "60", "--models", "btyd"])
    assert result.exit_code == 2, result.output
    assert "not fully observed" in result.output and "Traceback" not in result.output
