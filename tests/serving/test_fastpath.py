"""The hand-written path for POST /v1/predict {"customers": [...]} answers exactly what the
FastAPI route answers, and hands every other request to it."""

from __future__ import annotations

import json

import pytest

from ltv.serving import fastpath
from ltv.serving.app import create_app
from ltv.serving.fastpath import customer_ids

from .conftest import LiveServer, settings, store_copy


@pytest.mark.parametrize("body, expected", [
    (b'{"customers": ["a", "b"]}', ["a", "b"]),
    (b'{"customers":["a","a"]}', ["a", "a"]),  # duplicates are the route's business
    (b'{"customers": []}', None),
    (b'{"customers": [1]}', None),  # pydantic refuses ints for str: let it word the 422
    (b'{"customers": [""]}', None),
    (b'{"customers": ["a"], "rows": []}', None),
    (b'{"rows": [{"customer_id": "a"}]}', None),
    (b'["a"]', None),
    (b'{"customers": "a"}', None),
    (b'{"customers": ["a"', None),
    (b'\xff\xfe', None),
    (b'{"customers": ["a", "b", "c"]}', None),  # over the row limit of 2 below
])
def test_only_well_formed_id_requests_take_the_fast_path(body, expected):
    assert customer_ids(body, max_rows=2 if b'"c"' in body else 10) == expected


def _answers(server: LiveServer, requests: list[tuple[bytes, str]]) -> list[tuple[int, bytes]]:
    with server.client() as client:
        return [(r.status_code, r.content) for r in
                (client.post("/v1/predict", content=body, headers={"content-type": kind})
                 for body, kind in requests)]


def test_same_bytes_as_the_fastapi_route(shop, tmp_path, monkeypatch):
    answered = []  # what the fast path answered itself (not None)

    async def spying(*args):
        result = await original(*args)
        answered.append(result is not None)
        return result

    original = fastpath.answer
    monkeypatch.setattr(fastpath, "answer", spying)
    ids = list(shop.snapshot["customer_id"].astype(str)[:5])
    json_type = "application/json"
    requests = [(json.dumps({"customers": ids[:1]}).encode(), json_type),
                (json.dumps({"customers": ids}).encode(), json_type),
                (json.dumps({"customers": [ids[0], ids[0]]}).encode(), json_type),
                (json.dumps({"customers": ids[:2]}).encode(), "application/json; charset=utf-8"),
                (json.dumps({"customers": [ids[0], "no-such-customer"]}).encode(), json_type),
                (json.dumps({"customers": [7]}).encode(), json_type),
                (json.dumps({"customers": []}).encode(), json_type),
                (b'{"customers": [', json_type)]
    online = store_copy(shop, tmp_path)
    answers = {}
    for fast in (True, False):
        app = create_app(settings(shop, online=online, fast_path=fast))
        with LiveServer(app) as server:
            answers[fast] = _answers(server, requests)
            with server.client() as client:
                metrics = client.get("/metrics").text
        assert f'ltv_requests_total{{route="/v1/predict",status="200"}} 4.0' in metrics
    assert [status for status, _ in answers[True]] == [200, 200, 200, 200, 404, 422, 422, 422]
    assert answers[True] == answers[False]
    assert answered == [True] * 4 + [False] * 4  # and only with fast_path=True
    served = json.loads(answers[True][1][1])
    assert [p["customer_id"] for p in served["predictions"]] == ids
    assert all(p["model_version"] == 1 for p in served["predictions"])
