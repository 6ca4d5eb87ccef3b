"""`ltv train`, `ltv predict` and `ltv backtest` through the real CLI, for each family."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from ltv.cli import app
from ltv.simulate import simulate

runner = CliRunner()
CUTOFF, LATER, HORIZON = "2022-10-01", "2022-12-01", 60


def _run(*args):
    result = runner.invoke(app, list(map(str, args)))
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    out = tmp_path_factory.mktemp("shop")
    simulate(n_customers=800, out=out, start="2022-01-01", end="2022-12-31", seed=5)
    tx = pd.read_parquet(out / "transactions")[["customer_id", "ts", "amount"]]
    tx.to_parquet(out / "tx.parquet")
    db = out / "shop.duckdb"
    _run("ingest", out / "tx.parquet", "--db", db)
    return out, db, tx


@pytest.mark.parametrize("family", ["btyd", "gbdt", "deep"])
def test_train_then_predict_at_a_later_cutoff(shop, tmp_path, family):
    _, db, tx = shop
    model_dir = tmp_path / "model"
    _run("train", "--db", db, "--cutoff", CUTOFF, "--horizon", HORIZON, "--models", family,
         "--out", model_dir)
    manifest = json.loads((model_dir / "model.json").read_text())
    assert manifest["family"] == family
    out = tmp_path / "predictions.parquet"
    _run("predict", "--model", model_dir, "--db", db, "--cutoff", LATER, "--out", out)
    preds = pd.read_parquet(out)
    seen = tx.loc[tx["ts"] < pd.Timestamp(LATER), "customer_id"].astype(str)
    assert set(preds["customer_id"]) == set(seen)
    assert list(preds.columns) == ["customer_id", "model", "ltv", "ltv_lo", "ltv_hi", "p_active"]
    assert (preds["ltv"] >= 0).all() and preds["p_active"].between(0, 1).all()
    if family == "deep":
        assert list((model_dir / "logs").rglob("events.out.tfevents.*"))

    if family == "deep":
        return  # its export and LiteRT parity are tested in tests/export and tests/runtime
    # The same batch job from the registry's champion, through the runtime.
    registry = tmp_path / "registry"
    _run("export", "--model", model_dir, "--registry", registry, "--name", "shop", "--promote")
    served = tmp_path / "served.parquet"
    _run("predict", "--registry", registry, "--name", "shop", "--db", db, "--cutoff", LATER,
         "--out", served)
    pd.testing.assert_frame_equal(pd.read_parquet(served), preds, rtol=1e-12)


def test_predict_needs_exactly_one_model_source(shop, tmp_path):
    _, db, _ = shop
    for args in ([], ["--model", tmp_path, "--registry", tmp_path, "--name", "x"]):
        result = runner.invoke(app, ["predict", "--db", str(db), "--out",
                                     str(tmp_path / "p.csv"), *map(str, args)])
        assert result.exit_code != 0
        assert "give either --model" in result.output
    result = runner.invoke(app, ["predict", "--db", str(db), "--out", str(tmp_path / "p.csv"),
                                 "--registry", str(tmp_path / "empty"), "--name", "shop"])
    assert result.exit_code != 0 and "shop" in result.output


def test_backtest_writes_one_row_per_customer_and_scores_the_horizon(shop, tmp_path):
    folder, _, tx = shop
    out, report = tmp_path / "predictions.csv", tmp_path / "report.html"
    result = _run("backtest", "--transactions", folder / "tx.parquet", "--cutoff", CUTOFF,
                  "--horizon", HORIZON, "--models", "btyd,gbdt", "--out", out,
                  "--report", report)
    preds = pd.read_csv(out, dtype={"customer_id": str})
    before = tx.loc[tx["ts"] < pd.Timestamp(CUTOFF), "customer_id"].astype(str)
    # backtest compares families: one prediction per customer and listed family
    assert preds.groupby("model").size().to_dict() == {"btyd": before.nunique(),
                                                       "gbdt": before.nunique()}
    assert set(preds["customer_id"]) == set(before)
    assert report.is_file() and "gini" in result.output
