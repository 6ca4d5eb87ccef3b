"""Bad requests get a 4xx whose message names the field; never a 5xx."""

from __future__ import annotations

import pytest

from ltv.serving.app import create_app

from .conftest import LiveServer, feature_rows, settings


def _post(live, body=None, **kwargs):
    with live.client() as client:
        return client.post("/v1/predict", json=body, **kwargs)


def test_wrong_type_names_row_and_feature(live, shop):
    rows = feature_rows(shop, 3)
    rows[2]["frequency"] = "three"
    response = _post(live, {"rows": rows})
    assert response.status_code == 422
    assert response.json()["detail"] == "rows[2].frequency: expected a number, got 'three'"


def test_missing_feature_is_named(live, shop):
    rows = feature_rows(shop, 2)
    del rows[1]["recency"]
    response = _post(live, {"rows": rows})
    assert response.status_code == 422
    assert response.json()["detail"] == "rows[1]: missing feature 'recency'"


def test_out_of_range_and_non_finite_values(live, shop):
    rows = feature_rows(shop, 1)
    rows[0]["frequency"] = -2
    response = _post(live, {"rows": rows})
    assert response.status_code == 422 and "rows[0].frequency" in response.json()["detail"]
    assert ">= 0" in response.json()["detail"]


@pytest.mark.parametrize("body, field", [
    ({}, "give exactly one"),
    ({"customers": ["a"], "rows": []}, "give exactly one"),
    ({"rows": []}, "rows: give at least one"),
    ({"rows": [{"frequency": 1}]}, "rows[0].customer_id"),
    ({"customers": "abc"}, "body.customers"),
    ({"rows": [1, 2]}, "body.rows.0"),
    ({"unknown": 1}, "body.unknown"),
])
def test_malformed_bodies(live, body, field):
    response = _post(live, body)
    assert response.status_code == 422, response.text
    assert field in response.json()["detail"]


def test_invalid_json_is_422(live):
    response = _post(live, content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 422


def test_ids_without_online_store_is_409(shop):
    with LiveServer(create_app(settings(shop))) as server, server.client() as client:
        response = client.post("/v1/predict", json={"customers": ["1"]})
    assert response.status_code == 409 and "online store" in response.json()["detail"]


def test_unknown_customers_are_named(live, shop):
    known = shop.snapshot["customer_id"].iloc[0]
    response = _post(live, {"customers": [known, "nobody-1", "nobody-2"]})
    assert response.status_code == 404
    assert response.json()["detail"] == ("unknown customer(s): 'nobody-1', 'nobody-2' (not in "
                                         "the online store)")


def test_oversized_batch_and_body(shop):
    app = create_app(settings(shop, max_request_rows=5, max_body_bytes=20_000))
    with LiveServer(app) as server, server.client() as client:
        many = client.post("/v1/predict", json={"rows": feature_rows(shop, 6)})
        assert many.status_code == 413 and "rows: 6 items" in many.json()["detail"]
        big = client.post("/v1/predict", content=b'{"rows": [' + b" " * 30_000 + b"]}",
                          headers={"content-type": "application/json"})
        assert big.status_code == 413 and "larger than 20000 bytes" in big.json()["detail"]
        assert client.post("/v1/predict", json={"rows": feature_rows(shop, 1)}
                           ).status_code == 200
