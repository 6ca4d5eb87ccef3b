"""Model commands: train, predict (the batch job), backtest, rolling-backtest, export."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ltv.cli.base import app, console
from ltv.cli_support import fail_cleanly, progress_bar


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
    db: Path = typer.Option(..., help="Warehouse file (DuckDB)."),
    out: Path = typer.Option(..., help="Output .parquet or .csv."),
    model: Optional[Path] = typer.Option(None, help="Model folder written by `ltv train`."),
    registry: Optional[Path] = typer.Option(None, help="Or a registry (see `ltv export`): "
                                            "score with a published version, no TensorFlow."),
    name: Optional[str] = typer.Option(None, help="Model name in --registry."),
    version: Optional[int] = typer.Option(None, help="Version in --registry (default: the champion)."),
    cutoff: Optional[str] = typer.Option(None, help="Features as of this time (default: end of data)."),
):
    """Score every customer with history before the cutoff (the batch job)."""
    from ltv.evaluation.backtest import write_predictions
    from ltv.features.build import build_features
    from ltv.models.training_data import fill_optional_columns

    from ltv.models.provenance import feature_options

    from ltv.models.columns import SEQUENCE_PREFIX

    predictor, info = _batch_predictor(model, registry, name, version)
    options = feature_options(info)
    if not any(n.startswith(SEQUENCE_PREFIX) for n in predictor.feature_names):
        options["sequence_weeks"] = 0  # the weekly lists are a third of the work; unread
    with console.status("building features"):
        features = build_features(db, cutoff, **options)
    with console.status(f"scoring {len(features):,} customers"):
        predictions = predictor.predict(fill_optional_columns(features, predictor.feature_names))
    write_predictions(predictions, out)
    console.print(f"[green]wrote[/] {len(predictions):,} predictions from {predictor.name} to {out}")


def _batch_predictor(model: Path | None, registry: Path | None, name: str | None,
                     version: int | None):
    """A model folder's model, or a registry version's runtime predictor (verified), and its
    training record (training.json or the version's manifest)."""
    if (model is None) == (registry is None):
        raise typer.BadParameter("give either --model (a folder from `ltv train`) or "
                                 "--registry with --name")
    from ltv.runtime import Predictor, load_predictor

    if model is not None:
        from ltv.models.registry import load_model

        from ltv.models.provenance import read_training_info

        fitted = load_model(model)
        return Predictor(name=fitted.name, family=fitted.family,
                         feature_names=list(fitted.feature_names_), model=fitted,
                         version_dir=model), read_training_info(model)
    if not name:
        raise typer.BadParameter("--registry needs --name (see `ltv registry list`)")
    from ltv.registry import Registry

    store = Registry(registry)
    chosen = store.resolve(name, version, "score with")
    store.verify(name, chosen)
    return load_predictor(store.path(name, chosen), verify=False), store.manifest(name, chosen)


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
    slice_by: Optional[str] = typer.Option(None, help="Attribute columns to slice metrics by, "
                                           "e.g. attr_country (default: every attribute, the "
                                           "RFM segment and the LTV tier at the cutoff)."),
):
    """One-shot out-of-time backtest: fit before the cutoff, predict, score, report."""
    from ltv.cli.slicing import segment_groups
    from ltv.evaluation.backtest import run_backtest
    from ltv.cli_support import metrics_table

    with console.status("backtesting"):
        result = run_backtest(transactions, cutoff, horizon, out=out, report=report,
                              format=format, models=models, slice_by=slice_by,
                              segmenter=segment_groups)
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
