"""`ltv monitor` scores the snapshots whose horizon has passed: a published GBDT (horizon 60
days, trained at 2022-10-01) and a warehouse where one acquisition channel spends 4x as much
from the training cutoff on. The matured snapshots must flag exactly that channel, in the
JSON verdict, the terminal and the HTML report; the last snapshot is not matured and says so."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from ltv.evaluation import metrics
from ltv.evaluation.backtest import actual_spend

from .conftest import HORIZON, TRAIN_CUTOFF, publish_and_shift

LTV = str(Path(sys.executable).parent / "ltv")
PLANTED = "social"
CUTOFFS = ["2022-10-01", "2022-10-22", "2022-11-12"]  # + 60 days: 11-30, 12-21, 2023-01-11


@pytest.fixture(scope="module")
def monitored(trained, tmp_path_factory):
    root = tmp_path_factory.mktemp("realized")
    registry, db = publish_and_shift(trained, root, f"""
        UPDATE transactions SET amount = amount * 4 WHERE ts >= '{TRAIN_CUTOFF}'
        AND customer_id IN (SELECT customer_id FROM customers WHERE channel = '{PLANTED}')""")
    result = subprocess.run(
        [LTV, "monitor", "--registry", str(registry.root), "--name", "shop", "--db", str(db),
         "--since", CUTOFFS[0], "--until", CUTOFFS[-1], "--step", "21",
         "--report", str(root / "drift.html"), "--out", str(root / "verdict.json")],
        capture_output=True, text=True,
        env={"COLUMNS": "250", "PATH": str(Path(sys.executable).parent)})
    assert result.returncode == 0, result.stdout + result.stderr
    return root, db, trained, result.stdout


def test_matured_snapshots_flag_exactly_the_planted_channel(monitored):
    root, _, _, _ = monitored
    realized = json.loads((root / "verdict.json").read_text())["realized"]
    assert realized["horizon_days"] == HORIZON and realized["end_of_data"][:10] == "2023-01-01"
    snaps = realized["snapshots"]
    assert [s["cutoff"][:10] for s in snaps] == CUTOFFS
    assert [s["status"] for s in snaps] == ["matured", "matured", "pending"]
    assert snaps[2]["matures_on"][:10] == "2023-01-11" and snaps[2]["days_left"] == 10
    assert realized["latest_matured"][:10] == CUTOFFS[1]
    for snap in snaps[:2]:
        assert [(f["slice"], f["group"]) for f in snap["flagged"]] == [("attr_channel", PLANTED)]
        assert set(snap["slices"]) == {"attr_channel", "attr_region", "attr_age_band",
                                       "rfm_segment", "ltv_tier"}
        social = next(g for g in snap["slices"]["attr_channel"] if g["group"] == PLANTED)
        assert social["flagged"] and social["bias"] < snap["metrics"]["bias"] - 0.1


def test_realized_metrics_are_the_models_scores_against_the_warehouse(monitored):
    root, db, trained, _ = monitored
    snap = json.loads((root / "verdict.json").read_text())["realized"]["snapshots"][0]
    features, predictions = trained.snapshot(db, CUTOFFS[0])
    actual = actual_spend(db, CUTOFFS[0], HORIZON).reindex(predictions["customer_id"])
    expected = metrics.evaluate(predictions, actual.to_numpy())
    assert snap["customers"] == len(predictions)
    for key in ("mae", "bias", "gini", "decile_mape"):
        assert snap["metrics"][key] == pytest.approx(expected[key], rel=1e-9)
    counts = {g["group"]: g["n"] for g in snap["slices"]["attr_channel"]}
    channels = features.set_index("customer_id")["attr_channel"]
    assert counts == channels.value_counts().to_dict()


def test_terminal_and_report_show_it(monitored):
    root, _, _, stdout = monitored
    history = json.loads((root / "verdict.json").read_text())["history"]
    assert [h["realized"]["status"] for h in history] == ["matured", "matured", "pending"]
    assert history[0]["realized"]["flagged"] == [f"attr_channel={PLANTED}"]
    assert re.search(r"2022-10-01\s.*matured.*attr_channel=social", stdout)
    assert re.search(r"2022-11-12\s.*pending until 2023-01-11", stdout)
    assert re.search(r"attr_channel\s.*social\s.*error \u00d7", stdout)
    page = (root / "drift.html").read_text()
    assert ">Realized accuracy</h2>" in page and "pending until 2023-01-11" in page
    flagged = re.findall(r'<tr class="flag" data-group="([^"]*)">(.*?)</tr>', page)
    assert [key for key, _ in flagged] == [f"attr_channel={PLANTED}"]
    assert re.search(r'<td class="flagcell">\u26a0 error \u00d7[0-9.]+, bias -[0-9]+%</td>',
                     flagged[0][1])
    assert "1 group with an error far above the overall error: channel <b>social</b>" in page
    assert pd.Timestamp(CUTOFFS[1]).strftime("By group at %Y-%m-%d") in page
