"""FastAPI dependencies: the server state and the admin bearer-token check."""

from __future__ import annotations

import secrets

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ltv.serving.state import ServerState

_bearer = HTTPBearer(auto_error=False, description="LTV_SERVE_ADMIN_TOKEN")


async def get_state(request: Request) -> ServerState:
    # async: FastAPI runs a plain `def` dependency in a worker thread, ~0.2 ms per request.
    return request.app.state.ltv


async def require_admin(credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
                  state: ServerState = Depends(get_state)) -> None:
    if credentials is None:
        raise HTTPException(401, "admin endpoints need 'Authorization: Bearer <token>' "
                                 "(LTV_SERVE_ADMIN_TOKEN)",
                            headers={"WWW-Authenticate": "Bearer"})
    if not secrets.compare_digest(credentials.credentials.encode(), state.admin_token.encode()):
        raise HTTPException(403, "the admin token is wrong",
                            headers={"WWW-Authenticate": "Bearer"})
