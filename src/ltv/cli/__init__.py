"""The `ltv` command: parses arguments, calls library functions, prints results.

One module per area registers its commands on the one Typer app (`base`); the import order
below is the order of `ltv --help`. Heavy modules are imported inside each command so
`ltv --help` stays instant.
"""

from __future__ import annotations

import sys

from ltv.cli.base import app, console
from ltv.cli import data, models, profiles, serving, monitoring, registry  # noqa: F401,E402

__all__ = ["app", "console", "main"]


def main() -> None:  # pragma: no cover - entry point for `python -m ltv`
    sys.exit(app())
