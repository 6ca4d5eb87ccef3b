"""`ltv monitor` end to end: a published GBDT, a warehouse whose amounts triple from a date
on, weekly snapshots around that date; the verdict in the terminal, the JSON, the registry
and the HTML report. And the verdict store on its own."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from ltv.cli import app
from ltv.errors import LTVError
from ltv.monitoring.report import render_drift_report
from ltv.monitoring.store import LatestVerdict, latest_path, read_latest, write_latest
from ltv.registry import Registry

from .conftest import publish_and_shift

LTV = str(Path(sys.executable).parent / "ltv")
SHIFT = "2022-10-15"  # amounts triple from here on


def ltv(*args) -> subprocess.CompletedProcess:
    return subprocess.run([LTV, *map(str, args)], capture_output=True, text=True,
                          env={"COLUMNS": "200", "PATH": str(Path(sys.executable).parent)})


@pytest.fixture(scope="module")
def published(trained, tmp_path_factory):
    root = tmp_path_factory.mktemp("monitor_cli")
    registry, db = publish_and_shift(
        trained, root, f"UPDATE transactions SET amount = amount * 3 WHERE ts >= '{SHIFT}'")
    return root, registry, db


@pytest.fixture(scope="module")
def monitored(published):
    root, registry, db = published
    result = ltv("monitor", "--registry", registry.root, "--name", "shop", "--db", db,
                 "--since", "2022-10-01", "--until", "2022-10-29", "--report",
                 root / "drift.html", "--out", root / "verdict.json")
    assert result.returncode == 0, result.stdout + result.stderr
    return root, registry, result.stdout


def test_monitor_shows_when_drift_started(monitored):
    root, registry, stdout = monitored
    verdict = json.loads((root / "verdict.json").read_text())
    history = verdict["history"]
    assert [h["cutoff"][:10] for h in history] == ["2022-10-01", "2022-10-08", "2022-10-15",
                                                   "2022-10-22", "2022-10-29"]
    # up to the shift the snapshots are the training data's own: nothing moves
    assert [h["status"] for h in history[:3]] == ["ok", "ok", "ok"]
    assert all(h["status"] != "ok" for h in history[3:])
    means = [h["mean_ltv"] for h in history]
    assert means[4] > means[3] > means[2]
    latest = verdict["latest"]
    assert {"spend_7d", "spend_30d"} <= set(latest["drift"]) | set(latest["watch"])
    assert verdict["version"] == 1 and verdict["status"] == latest["status"]
    # the terminal shows one row per cutoff with its status
    assert re.search(r"2022-10-15\s.*\bok\b", stdout)
    assert re.search(r"2022-10-29\s.*\b(drift|watch)\b", stdout)
    # the registry keeps the same verdict next to the versions, outside them
    assert read_latest(registry.root, "shop") == verdict
    assert registry.versions("shop") == [1]
    registry.verify("shop", 1)


def test_the_report_is_self_contained_and_names_the_drift(monitored):
    root, _, _ = monitored
    page = (root / "drift.html").read_text()
    assert page.count('src="data:image/png;base64,') >= 4
    assert not re.search(r'(src|href)="(https?:|//)', page)
    for heading in ("Verdict", "When drift started", "Latest snapshot",
                    "Distributions of drifted features"):
        assert f">{heading}" in page
    assert "spend_7d" in page and "2022-10-22" in page


def in_process(*args):
    result = CliRunner().invoke(app, list(map(str, args)))
    return result.exit_code, " ".join(result.output.split())  # Rich wraps long lines


def test_monitor_errors_name_the_problem(published, tmp_path):
    root, registry, db = published
    code, out = in_process("monitor", "--registry", registry.root, "--name", "shop", "--db", db,
               "--since", "2031-01-01")
    assert code == 2 and "after the end of the data" in out
    code, out = in_process("monitor", "--registry", registry.root, "--name", "nope", "--db", db,
                  "--since", "2022-10-01")
    assert code == 2 and "has no model 'nope'" in out and "known: shop" in out
    # a version published without a reference profile (trained before monitoring existed)
    bare = Registry(tmp_path / "registry")
    shutil.copytree(root / "model", tmp_path / "model")
    (tmp_path / "model" / "training.json").unlink()
    bare.publish("shop", tmp_path / "model")
    code, out = in_process("monitor", "--registry", bare.root, "--name", "shop", "--db", db,
                           "--since", "2022-10-01", "--version", 1)
    assert code == 2 and "no reference profile" in out


def test_the_latest_verdict_store(tmp_path):
    (tmp_path / "shop" / "1").mkdir(parents=True)
    reader = LatestVerdict(tmp_path, "shop")
    assert reader.get() is None and read_latest(tmp_path, "shop") is None
    path = write_latest(tmp_path, "shop", {"status": "ok", "version": 1})
    assert path == latest_path(tmp_path, "shop") == tmp_path / "shop/monitoring/latest.json"
    assert reader.get() == {"status": "ok", "version": 1}
    write_latest(tmp_path, "shop", {"status": "drift", "version": 1, "pad": "x" * 10})
    assert reader.get()["status"] == "drift"  # re-read after the change
    assert [p.name for p in path.parent.iterdir()] == ["latest.json"]  # no temp file left
    assert path.stat().st_mode & 0o777 == 0o644
    with pytest.raises(LTVError, match="no model 'other'"):
        write_latest(tmp_path, "other", {})
    path.write_text("{not json")
    with pytest.raises(LTVError, match="not valid JSON"):
        reader.get()


def test_the_report_renders_from_the_stored_verdict_alone(monitored, trained):
    root, registry, _ = monitored
    verdict = read_latest(registry.root, "shop")
    verdict["name"] = "<shop & co>"
    verdict["latest"]["features"] = verdict["latest"]["features"][:2]  # fewer figures: faster
    page = render_drift_report(verdict, trained.reference)
    assert "&lt;shop &amp; co&gt;" in page and "<shop & co>" not in page
    assert pd.Timestamp(verdict["cutoff"]).strftime("%Y-%m-%d") in page
