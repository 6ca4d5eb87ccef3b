"""Concurrent requests are scored in shared micro-batches, and a promote/rollback under load
drops no request."""

from __future__ import annotations

import asyncio
import threading

import httpx
import numpy as np

from ltv.serving.app import create_app

from .conftest import TOKEN, LiveServer, feature_rows, settings


async def _fire(url: str, bodies: list[dict]) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        return await asyncio.gather(*(client.post("/v1/predict", json=b) for b in bodies))


def _metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    raise AssertionError(f"{name} not in /metrics")


def test_concurrent_requests_share_batches(shop):
    app = create_app(settings(shop, batch_wait_ms=50, batch_max_rows=10_000))
    rows = feature_rows(shop, 40)
    with LiveServer(app) as server:
        responses = asyncio.run(_fire(server.url, [{"rows": [r]} for r in rows]))
        with server.client() as client:
            text = client.get("/metrics").text
    assert all(r.status_code == 200 for r in responses)
    got = np.array([r.json()["predictions"][0]["ltv"] for r in responses])
    expected = shop.models[1].predict(shop.snapshot.iloc[:40])["ltv"].to_numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-9)  # each request got its own row back
    batches = _metric(text, "ltv_batch_rows_count")
    assert _metric(text, "ltv_batch_rows_sum") == 40
    assert batches < 40, f"{batches:.0f} batches for 40 concurrent requests: no batching"


def test_no_request_fails_during_promote_and_rollback(live, shop):
    errors, done, statuses = [], threading.Event(), []
    rows = feature_rows(shop, 3)

    def load():
        with live.client() as client:
            while not done.is_set():
                try:
                    response = client.post("/v1/predict", json={"rows": rows})
                    statuses.append(response.status_code)
                except httpx.HTTPError as err:  # a dropped connection counts as a failure
                    errors.append(repr(err))

    workers = [threading.Thread(target=load) for _ in range(3)]
    for w in workers:
        w.start()
    try:
        with live.client(TOKEN) as admin:
            for _ in range(4):
                assert admin.post("/v1/admin/promote", json={"version": 2}).status_code == 200
                assert admin.post("/v1/admin/rollback").status_code == 200
    finally:
        done.set()
        for w in workers:
            w.join()
    assert not errors and statuses and set(statuses) == {200}
