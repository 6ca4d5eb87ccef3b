"""Data commands: simulate, ingest, features, materialize, demo."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ltv.cli.base import app, console
from ltv.cli_support import fail_cleanly, parse_mapping, progress_bar, split_list


@app.command()
@fail_cleanly
def simulate(
    customers: int = typer.Option(50_000, help="Number of simulated customers."),
    out: Path = typer.Option(Path("sim"), help="Output folder (Parquet files + ground truth)."),
    start: str = typer.Option("2022-01-01", help="First day customers can sign up (UTC)."),
    end: str = typer.Option("2023-12-31", help="Last simulated day (UTC)."),
    horizon: int = typer.Option(90, help="Days of future spend in the ground-truth file."),
    seed: int = typer.Option(0, help="Random seed; the same seed gives the same files."),
    layout: str = typer.Option("canonical", help="canonical or uci-online-retail."),
):
    """Write a synthetic population with known ground truth (streams to Parquet)."""
    from ltv.simulate import simulate as run_simulation

    with progress_bar("simulating customers") as tick:
        result = run_simulation(customers, out, start=start, end=end, horizon_days=horizon,
                                seed=seed, layout=layout, progress=tick)
    console.print(f"[green]wrote[/] {result.n_customers:,} customers, "
                  f"{result.n_transactions:,} transactions, {result.n_events:,} events to {out}/")


@app.command()
@fail_cleanly
def ingest(
    source: str = typer.Argument(..., help="CSV (.csv/.csv.gz), Parquet, JSON lines, or a folder."),
    db: Path = typer.Option(..., help="Warehouse file (DuckDB); created if absent."),
    format: str = typer.Option("canonical", "--format", "-f",
                               help="canonical, uci-online-retail, complete-journey, rees46, taobao."),
    table: str = typer.Option("transactions", help="Target table for canonical/--map input."),
    map: Optional[str] = typer.Option(None, "--map",
                                      help="Column mapping, e.g. customer=CustomerID,ts=InvoiceDate,amount=Revenue"),
    pii: Optional[str] = typer.Option(None, help="Comma-separated PII columns to hash (needs LTV_PII_KEY)."),
    ts_format: Optional[str] = typer.Option(None, help="strptime format of the timestamp column."),
    timezone: str = typer.Option("UTC", help="Time zone of naive source timestamps."),
    duplicates: str = typer.Option("quarantine", help="quarantine or keep exact duplicate rows."),
    postgres_dsn: Optional[str] = typer.Option(None, help="Read SOURCE as a SQL query from this PostgreSQL DSN."),
):
    """Validate a source and load it into the warehouse; bad rows go to quarantine."""
    from ltv.io.ingest import ingest as run_ingest

    src: object = source
    if postgres_dsn:
        from ltv.io.readers import PostgresQuery

        src = PostgresQuery(postgres_dsn, source)
    with progress_bar(f"ingesting {Path(source).name if not postgres_dsn else 'query'}") as tick:
        report = run_ingest(src, db=db, format=format, table=table, mapping=parse_mapping(map),
                            pii=split_list(pii), ts_format=ts_format, timezone=timezone,
                            duplicates=duplicates, progress=tick)
    console.print(str(report))


@app.command()
@fail_cleanly
def features(
    db: Optional[Path] = typer.Option(None, help="Warehouse file (DuckDB)."),
    cutoff: str = typer.Option(..., help="Features use rows with ts < cutoff (UTC date or timestamp)."),
    out: Path = typer.Option(..., help="Output .parquet or .csv."),
    horizon: Optional[int] = typer.Option(None, help="Label horizon in days."),
    labels: bool = typer.Option(False, help="Add labels over [cutoff, cutoff + horizon)."),
    transactions: Optional[str] = typer.Option(None, help="Read transactions from Parquet instead of --db."),
    top_k_categories: int = typer.Option(10, help="Category share columns for the top K categories."),
    sequence_weeks: int = typer.Option(52, help="Length of the weekly spend/order sequences."),
):
    """Build one row of point-in-time features per customer as of a cutoff."""
    from ltv.features.build import build_features

    with console.status("building features"):
        frame = build_features(db, cutoff, horizon_days=horizon, labels=labels,
                               transactions=transactions, top_k_categories=top_k_categories,
                               sequence_weeks=sequence_weeks, out=out)
    console.print(f"[green]wrote[/] {len(frame):,} customers x {frame.shape[1]} columns to {out}")


@app.command()
@fail_cleanly
def materialize(
    db: Path = typer.Option(..., help="Warehouse file (DuckDB)."),
    cutoff: str = typer.Option(..., help="Features as of this time (UTC), or 'today' (its midnight)."),
    online: str = typer.Option(..., help="Online store: sqlite:///online.db or redis://host:port/db."),
    top_k_categories: int = typer.Option(10, help="Category share columns for the top K categories."),
    sequence_weeks: int = typer.Option(52, help="Length of the weekly spend/order sequences."),
    registry: Optional[Path] = typer.Option(None, help="Give the store the category and event "
                                            "columns the champion of --name was trained with."),
    name: Optional[str] = typer.Option(None, help="Model name in --registry."),
):
    """Copy the latest features per customer from the warehouse into an online store."""
    from ltv.online import materialize as run_materialize

    pinned = {}
    if registry is not None:
        pinned = _champion_feature_options(registry, name)
    with progress_bar("materializing") as tick:
        meta = run_materialize(db, cutoff, online, top_k_categories=top_k_categories,
                               sequence_weeks=sequence_weeks, progress=tick, **pinned)
    console.print(f"[green]wrote[/] {meta.rows:,} customers x {len(meta.feature_names)} "
                  f"columns as of {meta.cutoff} to {online} (generation {meta.generation})")


def _champion_feature_options(registry: Path, name: str | None) -> dict:
    from ltv.models.provenance import feature_options
    from ltv.registry import Registry

    if not name:
        raise typer.BadParameter("--registry needs --name (see `ltv registry list`)")
    store = Registry(registry)
    return feature_options(store.manifest(name, store.resolve(name, purpose="take columns from")))


@app.command()
@fail_cleanly
def demo(
    out: Path = typer.Option(Path("demo_out"), help="Folder for the demo's files."),
    customers: int = typer.Option(5_000, help="Simulated customers."),
):
    """Run the main job on an embedded default: simulate, ingest, features, train, score, report."""
    from ltv.demo import run_demo

    run_demo(out, customers=customers, console=console)
