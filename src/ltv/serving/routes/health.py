"""Liveness, readiness, Prometheus metrics and what is being served."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from ltv.serving.deps import get_state
from ltv.serving.metrics import CONTENT_TYPE_LATEST
from ltv.serving.routes.admin import models_body
from ltv.serving.schemas import ModelsResponse
from ltv.serving.state import ServerState

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz():
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "Not ready: no model or no store"}})
async def readyz(response: Response, state: ServerState = Depends(get_state)):
    """Ready to score: a model is loaded and the online store (if any) answers."""
    problems = []
    if state.deployments.routing is None:
        problems.append("no model loaded")
    if state.store is not None:
        try:
            state.store.count()
        except Exception as err:  # any store failure means not ready, with the reason
            problems.append(f"online store: {type(err).__name__}: {err}")
    if problems:
        response.status_code = 503
        return {"status": "not ready", "problems": problems}
    return {"status": "ready", **models_body(state)}


@router.get("/metrics")
async def metrics(state: ServerState = Depends(get_state)):
    return Response(state.metrics.render(), media_type=CONTENT_TYPE_LATEST)


@router.get("/v1/models", response_model=ModelsResponse)
async def models(state: ServerState = Depends(get_state)):
    """The model name, champion and challenger versions, and the A/B share."""
    return models_body(state)
