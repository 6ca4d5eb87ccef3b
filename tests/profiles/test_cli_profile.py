"""`ltv profile` through the real CLI: a Parquet file, the summary, segment rules in and out."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from ltv.cli import app
from ltv.features.build import build_features
from ltv.models.gbdt import GBDTModel
from ltv.models.training_data import build_training_data
from ltv.online import materialize, open_store
from ltv.online.profiles import read_profile
from ltv.profiles.segments import SegmentRules

from .sim_shop import CUTOFF, shop  # noqa: F401 (fixture)

runner = CliRunner()


def test_profile_writes_parquet_and_reuses_rules(shop, tmp_path):
    # A 28-day horizon and 6 windows a week apart keep it quick; the two oldest windows end
    # by the latest one's origin, so early stopping is out of sample and stops early.
    model_dir = tmp_path / "model"
    data = build_training_data(shop.db, CUTOFF, 28, stride_days=7, max_windows=6)
    GBDTModel(n_estimators=30).fit(data).save(model_dir)
    rules_in, rules_out = tmp_path / "rules.json", tmp_path / "rules_out.json"
    SegmentRules().fit(build_features(shop.db, "2022-12-01")).save(rules_in)
    out = tmp_path / "profiles.parquet"
    online = f"sqlite:///{tmp_path / 'online.db'}"
    materialize(shop.db, CUTOFF, online)
    result = runner.invoke(app, ["profile", "--db", str(shop.db), "--cutoff", CUTOFF,
                                 "--horizon", "28", "--out", str(out), "--model",
                                 str(model_dir), "--rules", str(rules_in),
                                 "--rules-out", str(rules_out), "--max-windows", "6",
                                 "--online", online])
    assert result.exit_code == 0, result.output
    profile = pd.read_parquet(out)
    assert profile["customer_id"].is_unique and len(profile) > 1000
    assert (profile["horizon_days"] == 28).all()
    assert (profile.loc[profile["has_purchase"], "ltv_model"] == "gbdt").all()
    assert "profiles by RFM segment" in result.output and "prospect" in result.output
    assert f"wrote {len(profile):,} profiles" in result.output
    assert json.loads(rules_out.read_text())["cuts"] == json.loads(rules_in.read_text())["cuts"]
    # the same rows went into the online store, for the server's GET /v1/customers/{id}
    assert f"stored {len(profile):,} profiles" in result.output
    with open_store(online) as store:
        for row in profile.sample(n=5, random_state=1).to_dict("records"):
            stored = read_profile(store, row["customer_id"])
            assert stored["rfm_segment"] == row["rfm_segment"]
            assert stored["ltv"] == pytest.approx(row["ltv"], rel=1e-12)


def test_a_model_for_another_horizon_is_refused(shop, tmp_path):
    model_dir = tmp_path / "model"
    GBDTModel(n_estimators=5).fit(shop.data).save(model_dir)  # a 90-day model
    result = runner.invoke(app, ["profile", "--db", str(shop.db), "--cutoff", CUTOFF,
                                 "--horizon", "28", "--out", str(tmp_path / "p.parquet"),
                                 "--model", str(model_dir)])
    assert result.exit_code == 2
    assert "predicts over 90 days" in result.output and "--horizon 90" in result.output


def test_profile_refuses_a_csv_output_before_any_work(shop, tmp_path):
    result = runner.invoke(app, ["profile", "--db", str(shop.db), "--cutoff", CUTOFF,
                                 "--out", str(tmp_path / "profiles.csv")])
    assert result.exit_code == 2
    assert "Parquet" in result.output and "profiles.parquet" in result.output
