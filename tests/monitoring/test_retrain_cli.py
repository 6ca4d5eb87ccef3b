"""`ltv retrain` and `ltv registry decisions` through the CLI: exit codes for cron (0 promoted,
0 kept, 2 error, 3 another retrain running), --json, and the decision listing."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from ltv.cli import app
from ltv.models.gbdt import GBDTModel
from ltv.monitoring.decisions import retrain_lock
from ltv.registry import Registry

from .retrain_shop import CUTOFF, FAST, WINDOWS, make_shop, publish_champion

runner = CliRunner()


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    return make_shop(tmp_path_factory.mktemp("retrain_cli_shop"))


@pytest.fixture(autouse=True)
def small_windows(monkeypatch):
    # `ltv retrain` uses `ltv train`'s 12 windows; 3 keep this test fast and change nothing else.
    monkeypatch.setattr("ltv.models.training_data.training_windows", lambda horizon: WINDOWS)


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_cron_exit_codes_json_and_the_decision_listing(shop, tmp_path):
    registry = Registry(tmp_path / "registry")
    weak = publish_champion(shop, registry, GBDTModel(**FAST), "2022-09-01", only=["T"])
    common = ["--registry", registry.root, "--name", "shop"]
    base = ["retrain", *common, "--db", shop.db, "--cutoff", CUTOFF.date(),
            "--bootstrap-rounds", 50, "--guard", "abs_bias=0.1"]  # see test_retrain

    promoted = invoke(*base, "--json")  # the champion's spec, now on all feature columns
    assert promoted.exit_code == 0, promoted.output
    record = json.loads(promoted.stdout.strip().splitlines()[-1])
    assert record["verdict"] == "promoted" and record["champion_after"] == weak + 1
    assert "building training windows" in promoted.stderr  # progress goes to the log

    # The same spec again, fresh: the replica of the new champion is the same fit as the
    # gate challenger, so the improvement is exactly 0: kept, and still exit 0.
    kept = invoke(*base, "--no-warm-start")
    assert kept.exit_code == 0, kept.output
    text = " ".join(kept.stdout.split())
    assert "kept the champion" in text and "below the margin" in text
    assert registry.champion("shop") == weak + 1 and registry.versions("shop") == [1, 2, 3]

    listing = invoke("registry", "decisions", *common, "--json")
    assert listing.exit_code == 0, listing.output
    assert [json.loads(line)["verdict"] for line in listing.stdout.splitlines()] == \
        ["promoted", "kept"]
    table = " ".join(invoke("registry", "decisions", *common).stdout.split())
    assert "promoted" in table and "kept" in table


def test_failures_exit_non_zero(shop, tmp_path):
    registry = Registry(tmp_path / "registry")
    publish_champion(shop, registry, GBDTModel(**FAST), "2022-09-01")
    common = ["--registry", registry.root, "--name", "shop", "--db", shop.db]
    with retrain_lock(registry.root, "shop"):
        locked = invoke("retrain", *common, "--cutoff", CUTOFF.date())
    assert locked.exit_code == 3
    assert "another retrain of 'shop' is running" in " ".join(locked.stderr.split())
    stale = invoke("retrain", *common, "--cutoff", "2023-03-01")
    assert stale.exit_code == 2 and "last transaction" in stale.stderr
    bad = invoke("retrain", *common, "--cutoff", CUTOFF.date(), "--guard", "gini")
    assert bad.exit_code == 2 and "'gini' is not metric=number" in bad.stderr
    assert "Traceback" not in locked.output + stale.output + bad.output
    assert registry.versions("shop") == [1]
    empty = invoke("registry", "decisions", "--registry", registry.root, "--name", "shop")
    assert empty.exit_code == 0 and "no retrain decisions" in empty.stdout
