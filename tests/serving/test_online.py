"""Scoring by customer id from the online store, GET /v1/customers/{id}, and POST /v1/events
(incremental features equal a full recompute, and the response is the new prediction)."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd

from ltv.features.build import build_features
from ltv.io.ingest import ingest
from ltv.online import open_store


def _predict_ids(client, ids):
    response = client.post("/v1/predict", json={"customers": ids})
    assert response.status_code == 200, response.text
    return response.json()["predictions"]


def test_ids_are_scored_from_the_store_like_the_offline_snapshot(live, shop):
    ids = shop.snapshot["customer_id"].iloc[::7].tolist()
    with live.client() as client:
        got = _predict_ids(client, ids)
    assert [p["customer_id"] for p in got] == ids
    expected = shop.models[1].predict(shop.snapshot.set_index("customer_id").loc[ids]
                                      .reset_index())
    np.testing.assert_allclose([p["ltv"] for p in got], expected["ltv"], rtol=1e-9)
    np.testing.assert_allclose([p["p_active"] for p in got], expected["p_active"], rtol=1e-9)


def test_customer_endpoint_returns_prediction_and_stored_features(live, shop):
    row = shop.snapshot.iloc[3]
    with live.client() as client:
        response = client.get(f"/v1/customers/{row['customer_id']}")
        missing = client.get("/v1/customers/nobody")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["features"]["frequency"] == row["frequency"]
    assert body["features"]["seq_spend"] == list(row["seq_spend"])
    expected = shop.models[1].predict(shop.snapshot.iloc[[3]])["ltv"].iloc[0]
    assert body["prediction"]["ltv"] == pytest_approx(expected)
    assert missing.status_code == 404 and "'nobody'" in missing.json()["detail"]


def pytest_approx(value):
    import pytest

    return pytest.approx(value, rel=1e-9)


def _recompute(shop, tmp_path, customer_id, new_rows: pd.DataFrame, as_of: str, store_url):
    """Features of `customer_id` from a full build over a warehouse copy plus `new_rows`."""
    db = tmp_path / "recompute.duckdb"
    shutil.copy(shop.db, db)
    ingest(new_rows.assign(customer_id=customer_id), db=db, table="transactions")
    options = open_store(store_url).meta().options
    full = build_features(db, as_of, windows=options["windows"],
                          top_k_categories=options["top_k_categories"],
                          sequence_weeks=options["sequence_weeks"],
                          top_categories=options["top_categories"],
                          event_types=options["event_types"])
    return full[full["customer_id"] == customer_id].reset_index(drop=True)


def test_events_update_features_like_a_full_recompute_and_rescore(live, shop, tmp_path):
    customer = shop.snapshot["customer_id"].iloc[5]
    new = pd.DataFrame({"ts": pd.to_datetime(["2022-10-03 09:00", "2022-10-03 17:30",
                                              "2022-10-12 08:00"]),
                        "amount": [35.0, -5.0, 80.25], "order_id": ["n1", "n2", "n3"]})
    as_of = "2022-10-15T00:00:00"
    body = {"customer_id": customer, "as_of": as_of,
            "transactions": [{"ts": t.isoformat(), "amount": a, "order_id": o}
                             for t, a, o in zip(new["ts"], new["amount"], new["order_id"])]}
    with live.client() as client:
        response = client.post("/v1/events", json=body)
        assert response.status_code == 200, response.text
        later = client.get(f"/v1/customers/{customer}").json()
    got = response.json()
    expected = _recompute(shop, tmp_path, customer, new, as_of,
                          live.app.state.ltv.settings.online)
    for name in shop.models[1].feature_names_:
        want = expected[name].iloc[0]
        have = got["features"][name]
        if isinstance(want, np.ndarray):
            assert have == list(want), name
        elif isinstance(want, pd.Timestamp):
            assert pd.Timestamp(have) == want, name
        elif pd.isna(want):
            assert have is None, name
        else:
            assert have == want, name
    assert got["features"]["spend_total"] == \
        shop.snapshot.set_index("customer_id").loc[customer, "spend_total"] + 110.25
    rescored = shop.models[1].predict(expected)["ltv"].iloc[0]
    assert got["prediction"]["ltv"] == pytest_approx(rescored)
    assert later["prediction"]["ltv"] == pytest_approx(rescored)  # the store was updated


def test_first_transaction_of_a_new_customer_is_scored(live):
    body = {"customer_id": "brand-new", "as_of": "2022-10-05T00:00:00",
            "transactions": [{"ts": "2022-10-02T12:00:00Z", "amount": 20.0}]}
    with live.client() as client:
        response = client.post("/v1/events", json=body)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["features"]["frequency"] == 0 and body["features"]["spend_total"] == 20.0
        assert body["prediction"]["ltv"] > 0
        assert client.get("/v1/customers/brand-new").status_code == 200


def test_events_only_customer_has_no_prediction_yet(live):
    body = {"customer_id": "browser-only",
            "events": [{"ts": "2022-10-02T12:00:00", "event_type": "view"}]}
    with live.client() as client:
        response = client.post("/v1/events", json=body)
    assert response.status_code == 200, response.text
    assert response.json() == {"customer_id": "browser-only", "prediction": None,
                               "features": None}


def test_out_of_order_and_malformed_events_are_4xx(live, shop):
    customer = shop.snapshot["customer_id"].iloc[0]
    with live.client() as client:
        early = client.post("/v1/events", json={
            "customer_id": customer, "transactions": [{"ts": "2022-09-01", "amount": 5}]})
        empty = client.post("/v1/events", json={"customer_id": customer})
        typo = client.post("/v1/events", json={
            "customer_id": customer, "transactions": [{"ts": "2022-10-02", "amout": 5}]})
    assert early.status_code == 422 and "ts" in early.json()["detail"]
    assert empty.status_code == 422 and "at least one" in empty.json()["detail"]
    assert typo.status_code == 422
    assert typo.json()["detail"] == "body.transactions.0.amount: Field required"
    assert ["body", "transactions", 0, "amout"] in [e["loc"] for e in typo.json()["errors"]]
