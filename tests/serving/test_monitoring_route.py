"""GET /v1/monitoring and the drift gauges on a live server: nothing before `ltv monitor`
has run, then the verdict it stores, re-read when the file changes."""

from __future__ import annotations

import copy

import pytest

from ltv.monitoring.run import monitor
from ltv.monitoring.store import latest_path, write_latest
from ltv.models.provenance import training_info
from ltv.models.training_data import build_training_data
from ltv.runtime import load_predictor

from .conftest import CUTOFF, HORIZON, NAME


@pytest.fixture
def verdict(shop):
    """A real verdict of version 1 (the GBDT) over three weekly snapshots after its cutoff;
    removed again afterwards, since the registry is shared by the serving tests."""
    data = build_training_data(shop.db, CUTOFF, HORIZON, stride_days=30, max_windows=3)
    reference = training_info(shop.db, data, shop.models[1], "gbdt")["reference_profile"]
    predictor = load_predictor(shop.registry.path(NAME, 1))
    result = monitor(predictor, reference, shop.db, ["2022-10-01", "2022-10-08", "2022-10-15"],
                     name=NAME, version=1)
    yield result.to_dict()
    latest_path(shop.registry.root, NAME).unlink(missing_ok=True)


def gauges(client) -> dict[str, float]:
    lines = [line for line in client.get("/metrics").text.splitlines()
             if line.startswith(("ltv_drift", "ltv_feature_psi"))]
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in lines}


def test_monitoring_route_and_gauges_follow_the_verdict_file(live, shop, verdict):
    with live.client() as client:
        missing = client.get("/v1/monitoring")
        assert missing.status_code == 404
        assert "ltv monitor" in missing.json()["fix"]
        assert gauges(client)["ltv_drift_status"] == -1

        write_latest(shop.registry.root, NAME, verdict)
        body = client.get("/v1/monitoring").json()
        assert body["status"] == verdict["status"] and body["version"] == 1
        assert body["served_version"] == 1 and body["stale"] is False
        assert [h["cutoff"] for h in body["history"]] == [h["cutoff"]
                                                         for h in verdict["history"]]
        assert body["features"] == [
            {k: v for k, v in f.items() if k != "current_shares"}
            for f in verdict["latest"]["features"] if f["status"] != "ok"]
        assert client.get("/v1/monitoring", params={"full": True}).json()["latest"] == \
            verdict["latest"]
        g = gauges(client)
        assert g["ltv_drift_status"] == {"ok": 0, "watch": 1, "drift": 2}[verdict["status"]]
        assert g["ltv_drift_features_alarmed"] == len(verdict["latest"]["drift"])
        assert g["ltv_drift_verdict_version"] == 1
        worst = max(verdict["latest"]["features"], key=lambda f: f["psi"])
        assert g[f'ltv_feature_psi{{feature="{worst["name"]}"}}'] == \
            pytest.approx(worst["psi"], rel=1e-12)
        assert sum(k.startswith("ltv_feature_psi{") for k in g) == 10

        # a new verdict (here: about version 2, at drift) is picked up without a restart
        changed = copy.deepcopy(verdict)
        changed.update(version=2, status="drift")
        changed["latest"].update(status="drift", drift=["spend_total", "T"])
        write_latest(shop.registry.root, NAME, changed)
        body = client.get("/v1/monitoring").json()
        assert body["status"] == "drift" and body["stale"] is True
        g = gauges(client)
        assert g["ltv_drift_status"] == 2 and g["ltv_drift_features_alarmed"] == 2
        assert g["ltv_drift_verdict_version"] == 2
