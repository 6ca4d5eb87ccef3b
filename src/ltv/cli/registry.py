"""`ltv registry list|promote|rollback|verify|decisions`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ltv.cli.base import app, console
from ltv.cli_support import fail_cleanly


registry_app = typer.Typer(no_args_is_help=True,
                           help="List, verify, promote and roll back registry versions.")
app.add_typer(registry_app, name="registry")

_REGISTRY = typer.Option(..., "--registry", help="Registry folder.")
_NAME = typer.Option(..., "--name", help="Model name in the registry.")


@registry_app.command("list")
@fail_cleanly
def registry_list(registry: Path = _REGISTRY, name: str = _NAME):
    """Show every version with its creation time, family and the champion marker."""
    from ltv.cli_support import versions_table
    from ltv.registry import Registry

    reg = Registry(registry)
    versions = reg.versions(name)
    if not versions:
        console.print(f"'{name}' has no versions in {registry}")
        return
    console.print(versions_table(reg, name, versions))


@registry_app.command("promote")
@fail_cleanly
def registry_promote(registry: Path = _REGISTRY, name: str = _NAME,
                     version: int = typer.Option(..., "--version", help="Version to promote.")):
    """Verify a version and make it the champion."""
    from ltv.registry import Registry

    Registry(registry).promote(name, version)
    console.print(f"[green]promoted[/] {name} version {version} to champion")


@registry_app.command("rollback")
@fail_cleanly
def registry_rollback(registry: Path = _REGISTRY, name: str = _NAME):
    """Make the previous champion the champion again."""
    from ltv.registry import Registry

    version = Registry(registry).rollback(name)
    console.print(f"[green]rolled back[/] {name} to version {version}")


@registry_app.command("verify")
@fail_cleanly
def registry_verify(registry: Path = _REGISTRY, name: str = _NAME,
                    version: Optional[int] = typer.Option(None, "--version",
                                                          help="One version (default: all).")):
    """Re-check every file checksum; exit 2 naming the version and file on any mismatch."""
    from ltv.registry import CorruptVersionError, Registry

    reg = Registry(registry)
    targets = [version] if version is not None else reg.versions(name)
    if not targets:
        reg.verify(name)  # raises: no such model
    failures: list[CorruptVersionError] = []
    for v in targets:
        try:
            reg.verify(name, v)
            console.print(f"{name} version {v}: [green]ok[/]")
        except CorruptVersionError as err:
            failures.append(err)
            console.print(f"{name} version {v}: [bold red]CORRUPT[/]")
    if len(failures) == 1:
        raise failures[0]
    if failures:
        from ltv.errors import LTVError

        raise LTVError(f"{len(failures)} corrupt versions:\n  "
                       + "\n  ".join(err.problem for err in failures), failures[0].fix)


@registry_app.command("decisions")
@fail_cleanly
def registry_decisions(registry: Path = _REGISTRY, name: str = _NAME,
                       last: int = typer.Option(20, help="Show the last N decisions."),
                       json_out: bool = typer.Option(False, "--json",
                                                     help="One JSON object per line.")):
    """Show the retrain decisions (`ltv retrain`): versions, primary metric, verdict, reason."""
    import json

    from ltv.cli_support import decisions_table
    from ltv.monitoring.decisions import read_decisions

    records = read_decisions(registry, name)[-last:] if last > 0 else []
    if json_out:
        for record in records:
            typer.echo(json.dumps(record, sort_keys=True))
        return
    if not records:
        console.print(f"'{name}' has no retrain decisions in {registry}")
        return
    console.print(decisions_table(records, name))
