"""Admin endpoints (bearer token): promote, roll back, reload the pointer, set the A/B split.

Each change loads and verifies the new version off the event loop, then swaps the routing in
one assignment: requests in flight finish on the version they started with, none is dropped.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends

from ltv.serving.deps import get_state, require_admin
from ltv.serving.schemas import ABRequest, ModelsResponse, PromoteRequest
from ltv.serving.state import ServerState

router = APIRouter(tags=["admin"], dependencies=[Depends(require_admin)])
ERRORS = {401: {"description": "No bearer token"}, 403: {"description": "Wrong token"},
          404: {"description": "Unknown version"},
          409: {"description": "Corrupt version, or nothing to roll back to"}}


def models_body(state: ServerState) -> dict:
    routing = state.routing
    return {"name": state.deployments.name, "champion": routing.champion.version,
            "challenger": routing.challenger.version if routing.challenger else None,
            "challenger_share": routing.share,
            "features": [vars(c) for c in routing.champion.schema.columns]}


async def _change(state: ServerState, change, *args) -> dict:
    await asyncio.to_thread(change, *args)
    state.show_routing()
    return models_body(state)


@router.post("/v1/admin/promote", response_model=ModelsResponse, responses=ERRORS)
async def promote(body: PromoteRequest, state: ServerState = Depends(get_state)):
    """Make `version` the champion (registry pointer and this server)."""
    return await _change(state, state.deployments.promote, body.version)


@router.post("/v1/admin/rollback", response_model=ModelsResponse, responses=ERRORS)
async def rollback(state: ServerState = Depends(get_state)):
    """Return to the previous champion."""
    return await _change(state, state.deployments.rollback)


@router.post("/v1/admin/reload", response_model=ModelsResponse, responses=ERRORS)
async def reload(state: ServerState = Depends(get_state)):
    """Re-read the registry's champion pointer (after `ltv registry promote` elsewhere)."""
    return await _change(state, state.deployments.sync)


@router.post("/v1/admin/ab", response_model=ModelsResponse, responses=ERRORS)
async def ab(body: ABRequest, state: ServerState = Depends(get_state)):
    """Route `share` of customers (by a stable hash of their id) to version `challenger`."""
    return await _change(state, state.deployments.set_ab, body.challenger, body.share)
