"""Small helpers for the CLI: error printing, option parsing, progress bars."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ltv.errors import LTVError

_err = Console(stderr=True)


def fail_cleanly(command: Callable) -> Callable:
    """Print an LTVError as a readable message and exit 2 instead of a traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except LTVError as err:
            _err.print(f"[bold red]error:[/] {err}", highlight=False, markup=True)
            raise typer.Exit(2) from None

    return wrapper


def parse_mapping(text: str | None) -> dict[str, str] | None:
    """'customer=CustomerID,ts=InvoiceDate' -> {'customer': 'CustomerID', 'ts': 'InvoiceDate'}."""
    if not text:
        return None
    mapping: dict[str, str] = {}
    for part in text.split(","):
        if "=" not in part:
            raise LTVError(f"--map entry {part!r} is not of the form target=source",
                           "write it like --map customer=CustomerID,ts=InvoiceDate,amount=Revenue")
        target, source = (s.strip() for s in part.split("=", 1))
        if not target or not source:
            raise LTVError(f"--map entry {part!r} has an empty side",
                           "write it like --map customer=CustomerID")
        mapping[target] = source
    return mapping


def split_list(text: str | None) -> list[str]:
    return [s.strip() for s in text.split(",") if s.strip()] if text else []


@contextmanager
def progress_bar(description: str) -> Iterator[Callable[..., None]]:
    """Yield a `tick(done, total, label=None)` callback that drives a Rich progress bar.

    `total` may be None when it is not known yet (a CSV being streamed, a query).
    """
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), transient=False) as progress:
        task = progress.add_task(description, total=None)

        def tick(done: int, total: int | None, label: str | None = None) -> None:
            progress.update(task, completed=done, total=total,
                            description=f"{description} {label}" if label else description)

        yield tick


HEADLINE_METRICS = ("gini", "spearman", "decile_mape", "top_decile_capture", "auc", "bias",
                    "coverage")


def metrics_table(results: dict[str, dict[str, float]]):
    """A Rich table of the headline metrics, one row per model."""
    from rich.table import Table

    table = Table(title="out-of-time metrics")
    table.add_column("model")
    for col in HEADLINE_METRICS:
        table.add_column(col, justify="right")
    for model, values in results.items():
        table.add_row(model, *(f"{values.get(c, float('nan')):.3f}" for c in HEADLINE_METRICS))
    return table


def rolling_table(summary, title: str = "rolling-origin metrics: mean ± std over origins"):
    """A Rich table of the headline metrics as 'mean ± std', one row per metric, one column per
    model (models are few, so this stays readable in 80 columns).

    `summary` is `RollingResult.summary` (model, metric, mean, std).
    """
    from rich.table import Table

    stats = {(r.model, r.metric): (r.mean, r.std) for r in summary.itertuples(index=False)}
    models = list(dict.fromkeys(summary["model"]))
    table = Table(title=title)
    table.add_column("metric")
    for model in models:
        table.add_column(model, justify="right", no_wrap=True)
    nan = (float("nan"), float("nan"))
    for metric in HEADLINE_METRICS:
        table.add_row(metric, *("{:.3f} ± {:.3f}".format(*stats.get((m, metric), nan))
                                for m in models))
    return table


def read_json_object(path) -> dict | None:
    """The JSON object in file `path` (None when no path is given)."""
    import json
    from pathlib import Path

    if path is None:
        return None
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise LTVError(f"{path} does not exist", "pass the path of a JSON file") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise LTVError(f"{path} is not valid JSON ({err})",
                       'write one object, e.g. {"cutoff": "2024-01-01"}') from None
    if not isinstance(data, dict):
        raise LTVError(f"{path} holds a JSON {type(data).__name__}, not an object",
                       'write one object, e.g. {"cutoff": "2024-01-01"}')
    return data


def versions_table(registry, name: str, versions: list[int]):
    """A Rich table of a model's registry versions: version, created_at, family, champion."""
    from rich.table import Table

    from ltv.registry import CorruptVersionError

    champion = registry.champion(name)
    table = Table(title=f"{name} in {registry.root}")
    for col, justify in (("version", "right"), ("created_at", "left"), ("family", "left"),
                         ("horizon", "right"), ("champion", "center")):
        table.add_column(col, justify=justify)
    for version in versions:
        try:
            manifest = registry.manifest(name, version)
            created, family = manifest.get("created_at", "?"), manifest.get("family", "?")
            horizon = str(manifest.get("horizon_days", ""))
        except CorruptVersionError as err:
            created, family, horizon = f"[red]unreadable: {err.file}[/]", "?", ""
        table.add_row(str(version), created, str(family), horizon,
                      "*" if version == champion else "")
    return table


def profile_table(summary):
    """A Rich table of `ltv.profiles.build.profile_summary`: one row per RFM segment."""
    from rich.table import Table

    table = Table(title="profiles by RFM segment")
    table.add_column("segment")
    for col in summary.columns:
        table.add_column(col, justify="right")
    for segment, row in summary.iterrows():
        table.add_row(str(segment), *(f"{int(v):,}" if c == "customers" else
                                      f"{v:.1%}" if c == "share" else f"{v:,.2f}"
                                      for c, v in row.items()))
    return table


def decisions_table(records: list[dict], name: str):
    """A Rich table of retrain decisions (`ltv registry decisions`), oldest first."""
    from rich.table import Table

    def number(value) -> str:
        return "-" if value is None or value != value else f"{value:.4f}"

    table = Table(title=f"retrain decisions of {name}")
    for col in ("decided_at", "cutoff", "champion", "challenger", "primary", "verdict",
                "reason"):
        table.add_column(col, overflow="fold")
    for record in records:
        primary = (record.get("gate") or {}).get("primary", "gini")
        old = ((record.get("champion") or {}).get("metrics") or {}).get(primary)
        new = ((record.get("challenger") or {}).get("metrics") or {}).get(primary)
        verdict = record.get("verdict", "?")
        table.add_row(str(record.get("decided_at", "?")), str(record.get("cutoff", "?"))[:10],
                      str((record.get("champion") or {}).get("version", "-")),
                      str((record.get("challenger") or {}).get("version", "-")),
                      f"{primary} {number(old)} -> {number(new)}",
                      f"[green]{verdict}[/]" if verdict == "promoted" else verdict,
                      str(record.get("reason", "")))
    return table
