"""POST /v1/admin/retrain runs `ltv retrain` from the server and serves a promoted
challenger at once; GET /v1/admin/decisions lists what was decided."""

from __future__ import annotations

import shutil

from ltv.models.gbdt import GBDTModel
from ltv.models.provenance import feature_schema, write_training_info
from ltv.models.training_data import build_training_data
from ltv.registry import Registry
from ltv.serving.app import create_app

from .conftest import CUTOFF, HORIZON, NAME, TOKEN, LiveServer, settings, store_copy


def test_retrain_over_http_records_the_decision_and_serves_the_winner(shop, tmp_path):
    registry = tmp_path / "registry"  # a private copy: this test publishes a version
    shutil.copytree(shop.registry.root, registry)
    Registry(registry).promote(NAME, 1)
    app = create_app(settings(shop, registry=registry, db=shop.db,
                              online=store_copy(shop, tmp_path)))
    with LiveServer(app) as server:
        with server.client() as anonymous:
            assert anonymous.post("/v1/admin/retrain", json={}).status_code == 401
        with server.client(token=TOKEN) as client:
            response = client.post("/v1/admin/retrain",
                                   json={"cutoff": "2022-12-01", "margin": 0.01})
            assert response.status_code == 200, response.text
            body = response.json()
            listed = client.get("/v1/admin/decisions").json()["decisions"]
            served = client.get("/v1/models").json()["champion"]
    assert body["champion_version"] == 1 and body["challenger_version"] == 3
    assert body["decision"]["verdict"] == ("promoted" if body["promoted"] else "kept")
    assert {"champion", "challenger"} <= set(body["decision"])
    assert served == body["serving"] == (3 if body["promoted"] else 1)
    assert Registry(registry).champion(NAME) == served
    assert [d["challenger"]["version"] for d in listed] == [3]
    assert listed[0]["verdict"] == body["decision"]["verdict"]
    assert listed[0]["champion_after"] == served


def test_a_better_challenger_is_promoted_and_served_at_once(shop, tmp_path):
    registry = Registry(tmp_path / "registry")
    shutil.copytree(shop.registry.root, registry.root)
    # a champion that cannot split (every leaf needs a million rows): constant predictions
    weak = GBDTModel(n_estimators=5, min_child_samples=1_000_000).fit(
        build_training_data(shop.db, CUTOFF, HORIZON, stride_days=30, max_windows=3))
    folder = tmp_path / "weak"
    weak.save(folder)
    write_training_info(folder, {"feature_schema": feature_schema(
        build_training_data(shop.db, CUTOFF, HORIZON, stride_days=30, max_windows=3),
        weak.feature_names_), "cutoff": CUTOFF, "horizon_days": HORIZON})
    version = registry.publish(NAME, folder)
    registry.promote(NAME, version)
    app = create_app(settings(shop, registry=registry.root, db=shop.db,
                              online=store_copy(shop, tmp_path)))
    with LiveServer(app) as server:
        with server.client(token=TOKEN) as client:
            body = client.post("/v1/admin/retrain", json={"cutoff": "2022-12-01",
                                                          "models": "gbdt"}).json()
            served = client.get("/v1/models").json()["champion"]
            predicted = client.post("/v1/predict", json={"customers": [
                str(shop.snapshot["customer_id"].iloc[0])]}).json()["predictions"][0]
    assert body["promoted"] is True, body["decision"]["reason"]
    assert body["champion_version"] == version and body["challenger_version"] == version + 1
    assert served == body["serving"] == version + 1 == registry.champion(NAME)
    assert predicted["model_version"] == version + 1
    assert body["decision"]["challenger"]["metrics"]["gini"] > \
        body["decision"]["champion"]["metrics"]["gini"] + 0.1


def test_retrain_needs_a_warehouse(live):
    with live.client(token=TOKEN) as client:
        response = client.post("/v1/admin/retrain", json={"cutoff": "2022-12-01"})
    assert response.status_code == 409 and "--db" in response.json()["detail"]
