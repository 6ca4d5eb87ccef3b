"""`ltv serve`: settings from the environment (LTV_SERVE_*) overridden by command-line
options, then uvicorn on the app. One worker process: on a 2-core box the other core is for
the scoring thread, LightGBM and the operating system; scale out with more instances."""

from __future__ import annotations

import logging
from typing import Any

from ltv.serving.settings import ServeSettings


def serve(log_level: str = "info", **overrides: Any) -> None:
    import uvicorn

    from ltv.serving.app import create_app

    settings = ServeSettings(**{k: v for k, v in overrides.items() if v is not None})
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    app = create_app(settings)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=log_level,
                access_log=False, loop="uvloop", http="httptools", proxy_headers=False)
