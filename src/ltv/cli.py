"""The `ltv` command: parses arguments, calls library functions, prints results.

Heavy modules are imported inside each command so `ltv --help` stays instant.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from ltv.cli_support import fail_cleanly, parse_mapping, progress_bar, split_list

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Customer lifetime value: ingest logs, build features, train, serve.")
console = Console()


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
):
    """Copy the latest features per customer from the warehouse into an online store."""
    from ltv.online import materialize as run_materialize

    with progress_bar("materializing") as tick:
        meta = run_materialize(db, cutoff, online, top_k_categories=top_k_categories,
                               sequence_weeks=sequence_weeks, progress=tick)
    console.print(f"[green]wrote[/] {meta.rows:,} customers x {len(meta.feature_names)} "
                  f"columns as of {meta.cutoff} to {online} (generation {meta.generation})")


@app.command()
@fail_cleanly
def demo(
    out: Path = typer.Option(Path("demo_out"), help="Folder for the demo's files."),
    customers: int = typer.Option(5_000, help="Simulated customers."),
):
    """Run the main job on an embedded default: simulate, ingest, features, train, score, report."""
    from ltv.demo import run_demo

    run_demo(out, customers=customers, console=console)


def main() -> None:  # pragma: no cover - entry point for `python -m ltv`
    sys.exit(app())


@app.command()
@fail_cleanly
def train(
    db: Path = typer.Option(..., help="Warehouse file (DuckDB)."),
    cutoff: str = typer.Option(..., help="Train on rows with ts < cutoff (UTC)."),
    horizon: int = typer.Option(90, help="Prediction horizon in days."),
    models: str = typer.Option("auto", help="btyd, gbdt, deep, auto, or a comma list to blend."),
    out: Path = typer.Option(..., help="Folder to write the fitted model to."),
    backtest: bool = typer.Option(True, help="Also fit the same models as of cutoff - horizon "
                                  "and score them on [cutoff - horizon, cutoff); the metrics go "
                                  "to training.json and, on export, the manifest."),
):
    """Fit a model on stacked out-of-time windows before the cutoff and save it.

    Next to the model, training.json records the cutoff, the feature schema (kinds and ranges
    a server checks raw rows against), a fingerprint of the training data and the backtest.
    """
    from ltv.models.provenance import training_info, write_training_info
    from ltv.models.training_data import build_training_data, training_windows
    from ltv.models.selection import model_for

    model = model_for(models)
    with console.status("building training windows"):
        data = build_training_data(db, cutoff, horizon, **training_windows(horizon))
    with console.status(f"fitting {model.name}"):
        model.fit(data)
        model.save(out)
    info = training_info(db, data, model, models)
    if backtest:
        from ltv.evaluation.holdout import holdout_metrics

        with console.status(f"backtest: {model.name} as of cutoff - {horizon} days"):
            info["backtest"] = holdout_metrics(db, cutoff, horizon, models)
    write_training_info(out, info)
    console.print(f"[green]saved[/] {model.name} model to {out} "
                  f"({len(data.windows):,} training rows from {data.windows['cutoff'].nunique()} windows)")


@app.command()
@fail_cleanly
def predict(
    model: Path = typer.Option(..., help="Model folder written by `ltv train`."),
    db: Path = typer.Option(..., help="Warehouse file (DuckDB)."),
    cutoff: Optional[str] = typer.Option(None, help="Features as of this time (default: end of data)."),
    out: Path = typer.Option(..., help="Output .parquet or .csv."),
):
    """Score every customer with history before the cutoff."""
    from ltv.evaluation.backtest import write_predictions
    from ltv.features.build import build_features
    from ltv.models.registry import load_model
    from ltv.models.training_data import fill_optional_columns

    fitted = load_model(model)
    with console.status("building features"):
        features = build_features(db, cutoff)
    predictions = fitted.predict(fill_optional_columns(features, fitted.feature_names_))
    write_predictions(predictions, out)
    console.print(f"[green]wrote[/] {len(predictions):,} predictions from {fitted.name} to {out}")


@app.command()
@fail_cleanly
def backtest(
    transactions: str = typer.Option(..., help="Transactions file (canonical columns or --format)."),
    cutoff: str = typer.Option(..., help="Train on ts < cutoff; score [cutoff, cutoff + horizon)."),
    horizon: int = typer.Option(90, help="Horizon in days."),
    out: Path = typer.Option(..., help="Predictions file (.csv or .parquet)."),
    report: Optional[Path] = typer.Option(None, help="HTML report (written when the file has data after the cutoff)."),
    format: str = typer.Option("canonical", "--format", "-f", help="Input layout (see `ltv ingest`)."),
    models: str = typer.Option("auto", help="Comma list of btyd, gbdt, deep, auto."),
    slice_by: Optional[str] = typer.Option(None, help="Attribute column to slice metrics by, e.g. attr_country."),
):
    """One-shot out-of-time backtest: fit before the cutoff, predict, score, report."""
    from ltv.evaluation.backtest import run_backtest
    from ltv.cli_support import metrics_table

    with console.status("backtesting"):
        result = run_backtest(transactions, cutoff, horizon, out=out, report=report,
                              format=format, models=models, slice_by=slice_by)
    console.print(f"[green]wrote[/] {len(result.predictions):,} predictions to {out}")
    if result.metrics:
        console.print(metrics_table(result.metrics))
    if result.report_path:
        console.print(f"report: {result.report_path}")


@app.command("rolling-backtest")
@fail_cleanly
def rolling_backtest(
    cutoff: str = typer.Option(..., help="Newest origin; the others step back from it (UTC)."),
    db: Optional[Path] = typer.Option(None, help="Warehouse file (DuckDB)."),
    transactions: Optional[str] = typer.Option(None, help="Transactions file instead of --db "
                                               "(ingested into a scratch warehouse)."),
    format: str = typer.Option("canonical", "--format", "-f", help="Layout of --transactions."),
    horizon: int = typer.Option(90, help="Horizon in days."),
    origins: int = typer.Option(3, help="Number of origins: cutoff, cutoff - step, ..."),
    step: Optional[int] = typer.Option(None, help="Days between origins (default: the horizon)."),
    models: str = typer.Option("auto", help="Comma list of btyd, gbdt, deep, auto."),
    out: Optional[Path] = typer.Option(None, help="Per-origin metrics (.csv or .parquet)."),
):
    """Repeat the backtest at several cutoffs; print mean ± std, write each origin to --out."""
    from ltv.cli_support import rolling_table
    from ltv.errors import LTVError
    from ltv.evaluation.rolling import rolling_backtest_file, rolling_origin_backtest

    if (db is None) == (transactions is None):
        raise LTVError("pass exactly one of --db and --transactions",
                       "--db shop.duckdb for a warehouse, --transactions tx.parquet for a file")
    options = dict(origins=origins, step_days=step, models=models)
    with progress_bar("rolling backtest") as tick:
        if db is not None:
            result = rolling_origin_backtest(db, cutoff, horizon, progress=tick, **options)
        else:
            result = rolling_backtest_file(transactions, cutoff, horizon, format=format,
                                           progress=tick, **options)
    console.print("origins: " + ", ".join(f"{o:%Y-%m-%d}" for o in result.origins))
    console.print(rolling_table(result.summary, title=f"{horizon}-day horizon, mean ± std over "
                                f"{len(result.origins)} origins"))
    if out is not None:
        result.write(out)
        console.print(f"[green]wrote[/] {len(result.per_origin):,} rows (origin x model) to {out}")


@app.command()
@fail_cleanly
def export(
    model: Path = typer.Option(..., help="Model folder written by `ltv train`."),
    registry: Path = typer.Option(..., help="Registry folder (created if absent)."),
    name: str = typer.Option(..., help="Model name in the registry, e.g. shop."),
    metadata: Optional[Path] = typer.Option(None, help="JSON file with an object to store in the "
                                            "manifest (cutoff, data fingerprint, metrics...)."),
    promote: bool = typer.Option(False, "--promote", help="Make the new version the champion."),
):
    """Publish a trained model as the next immutable version: REGISTRY/NAME/VERSION/."""
    from ltv.cli_support import read_json_object
    from ltv.registry import Registry

    reg = Registry(registry)
    with console.status(f"publishing {model}"):
        version = reg.publish(name, model, metadata=read_json_object(metadata))
    console.print(f"[green]published[/] {name} version {version} to "
                  f"{reg.path(name, version)}")
    if promote:
        reg.promote(name, version)
        console.print(f"[green]promoted[/] {name} version {version} to champion")


@app.command()
@fail_cleanly
def serve(
    registry: Path = typer.Option(..., help="Registry folder (see `ltv export`)."),
    name: str = typer.Option(..., help="Model name in the registry; its champion is served."),
    online: Optional[str] = typer.Option(None, help="Online store URL filled by `ltv "
                                         "materialize`: sqlite:///online.db or redis://host:6379/0."),
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

    run_server(log_level=log_level, registry=registry, name=name, online=online, host=host,
               port=port, challenger=challenger, challenger_share=challenger_share,
               dev_mode=dev or None)


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
