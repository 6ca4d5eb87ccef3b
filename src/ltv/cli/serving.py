"""The prediction server: serve."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ltv.cli.base import app
from ltv.cli_support import fail_cleanly


@app.command()
@fail_cleanly
def serve(
    registry: Path = typer.Option(..., help="Registry folder (see `ltv export`)."),
    name: str = typer.Option(..., help="Model name in the registry; its champion is served."),
    online: Optional[str] = typer.Option(None, help="Online store URL filled by `ltv "
                                         "materialize`: sqlite:///online.db or redis://host:6379/0."),
    db: Optional[Path] = typer.Option(None, help="Warehouse (DuckDB) for POST /v1/admin/retrain."),
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8080, help="Port to listen on."),
    challenger: Optional[int] = typer.Option(None, help="A/B: version to test against the champion."),
    challenger_share: Optional[float] = typer.Option(None, help="A/B: share of customers (0..1) "
                                                     "for the challenger."),
    dev: bool = typer.Option(False, "--dev", help="Allow a missing admin token (a random one "
                             "is generated and logged). Never in production."),
    log_level: str = typer.Option("info", help="debug, info, warning or error."),
):
    """Serve the champion over HTTP: /v1/predict, /v1/customers/{id}, /v1/events, /metrics.

    The admin token comes from LTV_SERVE_ADMIN_TOKEN; other settings (batching, limits) from
    LTV_SERVE_* variables (see ltv.serving.settings).
    """
    from ltv.serving.run import serve as run_server

    run_server(log_level=log_level, registry=registry, name=name, online=online, db=db, host=host,
               port=port, challenger=challenger, challenger_share=challenger_share,
               dev_mode=dev or None)
