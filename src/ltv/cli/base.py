"""The Typer app every command module registers on, and the console they print to."""

from __future__ import annotations

import typer
from rich.console import Console

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Customer lifetime value: ingest logs, build features, train, serve.")
console = Console()
