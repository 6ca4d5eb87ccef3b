"""The server on a Redis online store (a real redis-server): the same answers as on SQLite."""

from __future__ import annotations

import uuid

import numpy as np

from ltv.online.materialization import materialize
from ltv.serving.app import create_app

from .conftest import CUTOFF, LiveServer, settings


def test_ids_and_events_on_redis(shop, redis_url):
    url = f"{redis_url}?prefix=serve{uuid.uuid4().hex[:8]}"
    materialize(shop.db, CUTOFF, url)
    ids = shop.snapshot["customer_id"].iloc[:30].tolist()
    with LiveServer(create_app(settings(shop, online=url))) as server, \
            server.client() as client:
        got = client.post("/v1/predict", json={"customers": ids}).json()["predictions"]
        event = client.post("/v1/events", json={
            "customer_id": ids[0], "as_of": "2022-10-04T00:00:00",
            "transactions": [{"ts": "2022-10-02T09:00:00", "amount": 12.0}]})
        stored = client.get(f"/v1/customers/{ids[0]}").json()
    expected = shop.models[1].predict(shop.snapshot.iloc[:30])
    np.testing.assert_allclose([p["ltv"] for p in got], expected["ltv"], rtol=1e-9)
    assert event.status_code == 200, event.text
    before = shop.snapshot["spend_total"].iloc[0]
    assert event.json()["features"]["spend_total"] == before + 12.0
    assert stored["features"]["spend_total"] == before + 12.0
    assert stored["prediction"]["ltv"] == event.json()["prediction"]["ltv"]
