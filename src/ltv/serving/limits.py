"""ASGI middleware: refuse request bodies over a size limit (413) before reading them whole,
time every request for the metrics, and let a fast path answer the hot request (see
`fastpath`) before the framework does."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from typing import ContextManager

from ltv.serving.metrics import ServerMetrics

# (scope, body) -> a 200 JSON body, or None to pass the request on to the app.
FastPath = Callable[[dict, bytes], Awaitable[bytes | None]]


# Routes whose requests score rows through the micro-batcher.
SCORING_ROUTES = frozenset({"/v1/predict", "/v1/events", "/v1/customers/{id}"})


class BodyLimitAndMetrics:
    def __init__(self, app, max_body_bytes: int, metrics: ServerMetrics,
                 fast_path: FastPath | None = None,
                 expecting: Callable[[], ContextManager] | None = None):
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.metrics = metrics
        self.fast_path = fast_path
        self.expecting = expecting  # MicroBatcher.expecting: "rows are on their way"

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        route = _route_label(scope["path"])
        scoring = self.expecting is not None and route in SCORING_ROUTES
        with self.expecting() if scoring else contextlib.nullcontext():
            await self._handle(scope, receive, send, route, started)

    async def _handle(self, scope, receive, send, route: str, started: float) -> None:
        status = {"code": 500}
        limit = self.max_body_bytes

        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _too_large(send, limit)
            self._record(route, 413, started)
            return

        # Read the body here (up to the limit) and replay it: refusing mid-way inside the app
        # would race with a response it may have started.
        chunks, size = [], 0
        if scope["method"] in ("POST", "PUT", "PATCH"):
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    return  # client went away
                size += len(message.get("body", b""))
                if size > limit:
                    await _too_large(send, limit)
                    self._record(route, 413, started)
                    return
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    break
        body = b"".join(chunks)
        if self.fast_path is not None and scope["method"] == "POST":
            answer = await self.fast_path(scope, body)
            if answer is not None:
                await _send_json(send, 200, answer)
                self._record(route, 200, started)
                return
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        async def recording_send(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        await self.app(scope, replay, recording_send)
        self._record(route, status["code"], started)

    def _record(self, route: str, code: int, started: float) -> None:
        self.metrics.requests.labels(route, str(code)).inc()
        self.metrics.latency.labels(route).observe(time.perf_counter() - started)
        if code >= 400:
            self.metrics.errors.labels(route, "server" if code >= 500 else "client").inc()


def _content_length(scope) -> int | None:
    for key, value in scope.get("headers", []):
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _too_large(send, limit: int) -> None:
    await _send_json(send, 413, json.dumps(
        {"detail": f"request body is larger than {limit} bytes",
         "fix": "send fewer rows per request, or raise LTV_SERVE_MAX_BODY_BYTES"}).encode())


async def _send_json(send, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-length", str(len(body)).encode()),
                            (b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


KNOWN_ROUTES = ("/v1/predict", "/v1/events", "/v1/models", "/metrics", "/healthz", "/readyz")


def _route_label(path: str) -> str:
    """Low-cardinality route label: customer ids and unknown paths are not label values."""
    if path.startswith("/v1/customers/"):
        return "/v1/customers/{id}"
    if path.startswith("/v1/admin/"):
        return path if path.count("/") == 3 and len(path) < 40 else "/v1/admin/other"
    return path if path in KNOWN_ROUTES else "other"
