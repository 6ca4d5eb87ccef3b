"""POST /v1/admin/retrain and GET /v1/admin/decisions: `ltv retrain` over HTTP (bearer).

The retrain runs in a worker thread (tens of seconds to minutes: feature windows, two fits,
the gate's bootstrap) while the server keeps answering; the request returns the decision
when it is made. A promoted challenger is then loaded, verified and swapped in like any
promote. It needs the warehouse (`ltv serve --db`, LTV_SERVE_DB); the registry's retrain
lock keeps a second retrain (HTTP or cron) from running at the same time (409).
"""

from __future__ import annotations

import asyncio
import json

from fastapi import APIRouter, Depends, HTTPException, Query

from ltv.serving.deps import get_state, require_admin
from ltv.serving.schemas import RetrainRequest, RetrainResponse
from ltv.serving.state import ServerState

router = APIRouter(tags=["admin"], dependencies=[Depends(require_admin)])
ERRORS = {401: {"description": "No bearer token"}, 403: {"description": "Wrong token"},
          409: {"description": "No warehouse configured, or another retrain is running"},
          422: {"description": "The data cannot be retrained on (e.g. too old for the cutoff)"}}


@router.post("/v1/admin/retrain", response_model=RetrainResponse, responses=ERRORS)
async def retrain(body: RetrainRequest, state: ServerState = Depends(get_state)):
    """Train a challenger on data before `cutoff`; promote it only if it beats the champion
    by `margin` on the same recent window (see `ltv retrain`)."""
    from ltv.monitoring.decisions import RetrainLockedError
    from ltv.monitoring.gate import GateConfig
    from ltv.monitoring.retrain import retrain as run_retrain
    from ltv.online.materialization import resolve_cutoff

    settings = state.settings
    if settings.db is None:
        raise HTTPException(409, "this server was started without a warehouse, so it cannot "
                                 "retrain; start it with --db shop.duckdb (LTV_SERVE_DB)")
    try:
        result = await asyncio.to_thread(
            run_retrain, settings.registry, settings.name, settings.db,
            resolve_cutoff(body.cutoff), models=body.models, gate=GateConfig(margin=body.margin))
    except RetrainLockedError as err:
        raise HTTPException(409, f"{err.problem}; {err.fix}") from None
    if result.promoted:
        await asyncio.to_thread(state.deployments.sync)
        state.show_routing()
    return {"promoted": result.promoted, "champion_version": result.champion_version,
            "challenger_version": result.challenger_version,
            "serving": state.routing.champion.version,
            "decision": json.loads(result.to_json())}


@router.get("/v1/admin/decisions", responses=ERRORS)
async def decisions(state: ServerState = Depends(get_state),
                    last: int = Query(20, ge=1, le=1000, description="How many, newest last.")):
    """The retrain decisions recorded for the served model (`ltv registry decisions`)."""
    from ltv.monitoring.decisions import read_decisions
    from ltv.registry.manifest import check_metadata

    found = read_decisions(state.settings.registry, state.settings.name)[-last:]
    return {"name": state.settings.name, "decisions": [check_metadata(d) for d in found]}
