"""POST /v1/predict with raw feature rows against a real server: values equal the model's."""

from __future__ import annotations

import numpy as np

from .conftest import NAME, feature_rows


def test_rows_are_scored_by_the_champion_with_its_values(live, shop):
    rows = feature_rows(shop, 25)
    with live.client() as client:
        response = client.post("/v1/predict", json={"rows": rows})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"] == NAME and body["horizon_days"] == 60
    got = body["predictions"]
    assert [p["customer_id"] for p in got] == [r["customer_id"] for r in rows]
    assert {p["model_version"] for p in got} == {1} and {p["arm"] for p in got} == {"champion"}
    expected = shop.models[1].predict(shop.snapshot.iloc[:25])
    for column in ("ltv", "ltv_lo", "ltv_hi", "p_active"):
        np.testing.assert_allclose([p[column] for p in got], expected[column], rtol=1e-9)


def test_models_endpoint_lists_the_schema_from_training(live, shop):
    with live.client() as client:
        body = client.get("/v1/models").json()
    assert body["champion"] == 1 and body["challenger"] is None
    kinds = {f["name"]: f for f in body["features"]}
    assert set(kinds) == set(shop.models[1].feature_names_)
    assert kinds["frequency"]["kind"] == "number" and kinds["frequency"]["allowed_min"] == 0.0
    assert kinds["seq_spend"]["kind"] == "sequence" if "seq_spend" in kinds else True


def test_health_and_readiness(live):
    with live.client() as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["champion"] == 1


def test_metrics_count_requests_and_batches(live, shop):
    with live.client() as client:
        for _ in range(3):
            assert client.post("/v1/predict", json={"rows": feature_rows(shop, 2)}
                               ).status_code == 200
        client.post("/v1/predict", json={"rows": [{"customer_id": "x"}]})
        text = client.get("/metrics").text
    lines = dict(line.rsplit(" ", 1) for line in text.splitlines()
                 if line and not line.startswith("#"))
    assert float(lines['ltv_requests_total{route="/v1/predict",status="200"}']) == 3
    assert float(lines['ltv_requests_total{route="/v1/predict",status="422"}']) == 1
    assert float(lines['ltv_errors_total{kind="client",route="/v1/predict"}']) == 1
    assert float(lines["ltv_batch_rows_sum"]) == 6
    assert float(lines['ltv_predictions_total{arm="champion"}']) == 6
    assert float(lines['ltv_model_version{arm="champion"}']) == 1
    assert float(lines['ltv_request_latency_seconds_count{route="/v1/predict"}']) == 4
