"""`create_app(settings)`: the FastAPI application of `ltv serve`.

Routes (OpenAPI docs at /docs):
  POST /v1/predict            customers by id (online store) or raw feature rows
  GET  /v1/customers/{id}     prediction, stored features, profile, explanation
  POST /v1/events             new transactions -> incremental features -> new prediction
  GET  /v1/models             what is served; POST /v1/admin/{promote,rollback,reload,ab}
  POST /v1/admin/retrain      `ltv retrain` (needs --db); GET /v1/admin/decisions
  GET  /v1/monitoring         the latest drift verdict (`ltv monitor`), also as drift gauges
  GET  /healthz /readyz /metrics

Bad input is always a 4xx naming the field: request validation (422), feature rows that do
not fit the model's schema (422), unknown customers (404), oversized batches or bodies (413).
A 5xx means a fault of the server, never of the request.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from functools import partial
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from ltv.errors import LTVError
from ltv.registry import CorruptVersionError, Registry, RegistryError
from ltv.serving import fastpath
from ltv.serving.batching import MicroBatcher
from ltv.serving.deployment import Deployments
from ltv.serving.features import FeatureRowError
from ltv.serving.limits import BodyLimitAndMetrics
from ltv.serving.metrics import ServerMetrics
from ltv.serving.routes import (admin, customers, events, health, monitoring, predict,
                                 retrain)
from ltv.serving.settings import ServeSettings
from ltv.serving.state import NoOnlineStoreError, ServerState, UnknownCustomerError

log = logging.getLogger("ltv.serving")


def create_app(settings: ServeSettings, *, deployments: Deployments | None = None,
               store: Any = None) -> FastAPI:
    """The app; the model is loaded (and the store opened) at startup, before it is ready."""
    token = settings.checked_token()  # refuses an unsafe token before anything starts
    metrics = ServerMetrics()
    deployments = deployments or Deployments(Registry(settings.registry), settings.name)
    if store is None and settings.online:
        from ltv.online import open_store

        store = open_store(settings.online)
    state = ServerState(settings, deployments,
                        MicroBatcher(settings.batch_wait_ms, settings.batch_max_rows,
                                     on_batch=metrics.observe_batch),
                        metrics, token, store)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        await asyncio.to_thread(deployments.start, settings.challenger,
                                settings.challenger_share)
        state.show_routing()
        # The loaded models are long-lived: keep the garbage collector from re-scanning
        # them on every full collection (pauses that show up as p99 latency).
        gc.collect()
        gc.freeze()
        state.batcher.start()
        poller = asyncio.create_task(_follow_pointer(state)) if settings.pointer_poll_s else None
        if settings.admin_token is None or token != settings.admin_token.get_secret_value():
            log.warning("dev mode: admin token generated for this run: %s", token)
        try:
            yield
        finally:
            if poller is not None:
                poller.cancel()
            await state.batcher.stop()

    app = FastAPI(title="ltv prediction server", version="1",
                  description="Customer lifetime value predictions, A/B arms and model "
                              "versions from the ltv registry.", lifespan=lifespan)
    app.state.ltv = state
    app.state.monitoring = monitoring.install(metrics.registry, settings)  # drift verdict
    for module in (predict, customers, events, health, admin, monitoring, retrain):
        app.include_router(module.router)
    _install_error_handlers(app)
    app.add_middleware(BodyLimitAndMetrics, max_body_bytes=settings.max_body_bytes,
                       metrics=metrics,
                       fast_path=partial(fastpath.answer, state) if settings.fast_path else None,
                       expecting=state.batcher.expecting)
    return app


async def _follow_pointer(state: ServerState) -> None:
    """Pick up `ltv registry promote/rollback` run outside the server."""
    while True:
        await asyncio.sleep(state.settings.pointer_poll_s)
        try:
            if await asyncio.to_thread(state.deployments.sync):
                state.show_routing()
                log.info("now serving version %s", state.routing.champion.version)
        except LTVError as err:  # keep serving the loaded version; say why it did not change
            log.error("champion pointer not followed: %s", err)


def _error(status: int, message: str, fix: str | None = None, **extra) -> JSONResponse:
    body = {"detail": message, **({"fix": fix} if fix else {}), **extra}
    return JSONResponse(body, status_code=status)


def _answer_with(status: int):
    async def handler(request: Request, exc: LTVError) -> JSONResponse:
        return _error(status, exc.problem, exc.fix)

    return handler


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        errors = exc.errors()
        first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return _error(422, f"{where}: {first.get('msg')}",
                      errors=[{"loc": list(e.get("loc", ())), "msg": e.get("msg"),
                               "type": e.get("type")} for e in errors[:20]])

    # Specific errors first: Starlette picks the handler of the nearest class in the MRO.
    for error, status in ((FeatureRowError, 422), (UnknownCustomerError, 404),
                          (NoOnlineStoreError, 409), (CorruptVersionError, 409)):
        app.add_exception_handler(error, _answer_with(status))

    @app.exception_handler(RegistryError)
    async def registry(request: Request, exc: RegistryError):
        status = 404 if "has no version" in exc.problem else 409
        return _error(status, exc.problem, exc.fix)

    @app.exception_handler(LTVError)
    async def other(request: Request, exc: LTVError):
        # Input the data layer refused (e.g. an event before the customer's last update).
        return _error(422, exc.problem, exc.fix)
