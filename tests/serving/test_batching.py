"""Concurrent requests are scored in shared micro-batches, and a promote/rollback under load
drops no request."""

from __future__ import annotations

import asyncio
import threading

import httpx
import numpy as np

from ltv.serving.app import create_app
from ltv.serving.batching import MicroBatcher

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


class _Echo:
    """A predictor that returns its rows' `x` as ltv (no model needed to test batching)."""

    takes_columns = True

    def predict_columns(self, columns):
        x = np.asarray(columns["x"], dtype=float)
        return {"customer_id": np.asarray(columns["customer_id"]), "ltv": x, "ltv_lo": x,
                "ltv_hi": x, "p_active": np.ones_like(x)}


class _Deployment:
    version = 1
    predictor = _Echo()

    class schema:  # noqa: N801 - stands in for FeatureSchema.join
        @staticmethod
        def join(parts):
            return {k: [v for p in parts for v in p[k]] for k in parts[0]}


def _job(i: int) -> dict:
    return {"customer_id": [f"c{i}"], "x": [float(i)]}


def test_a_lone_request_is_not_held_for_the_wait():
    """Nobody else is on the way, so even a 60 s wait is not spent (the test would hang)."""
    async def run():
        batches = []
        batcher = MicroBatcher(wait_ms=60_000, max_rows=100,
                               on_batch=lambda rows, s: batches.append(rows))
        batcher.start()
        with batcher.expecting():
            result = await asyncio.wait_for(batcher.predict(_Deployment(), _job(3)), 30)
        await batcher.stop()
        return result, batches

    result, batches = asyncio.run(run())
    assert list(result["ltv"]) == [3.0] and batches == [1]


def test_a_batch_waits_for_requests_on_their_way():
    """A request that is expected (accepted, rows not queued yet) joins the batch being
    gathered; once it has queued, nothing more is waited for."""
    async def run():
        batches = []
        batcher = MicroBatcher(wait_ms=60_000, max_rows=100,
                               on_batch=lambda rows, s: batches.append(rows))
        batcher.start()
        second_may_queue = asyncio.Event()

        async def request(i: int, gate: asyncio.Event | None = None):
            with batcher.expecting():
                if gate is not None:
                    await gate.wait()  # e.g. still reading its body
                return await batcher.predict(_Deployment(), _job(i))

        first = asyncio.create_task(request(1))
        second = asyncio.create_task(request(2, second_may_queue))
        for _ in range(5):  # let the first queue and the worker start gathering
            await asyncio.sleep(0)
        assert not first.done() and batcher.expected == 1  # held for the second
        second_may_queue.set()
        results = await asyncio.wait_for(asyncio.gather(first, second), 30)
        await batcher.stop()
        return results, batches

    (one, two), batches = asyncio.run(run())
    assert (list(one["ltv"]), list(two["ltv"])) == ([1.0], [2.0])
    assert batches == [2]
