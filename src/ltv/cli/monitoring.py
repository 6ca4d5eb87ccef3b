"""After launch: monitor (drift) and retrain (champion/challenger gate)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ltv.cli.base import app, console
from ltv.cli_support import fail_cleanly, progress_bar


@app.command()
@fail_cleanly
def monitor(
    registry: Path = typer.Option(..., help="Registry folder (see `ltv export`)."),
    name: str = typer.Option(..., help="Model name in the registry."),
    db: Path = typer.Option(..., help="Warehouse file (DuckDB) with the new data."),
    since: str = typer.Option(..., help="First snapshot cutoff (UTC date)."),
    until: Optional[str] = typer.Option(None, help="Last cutoff (default: end of the data)."),
    step: int = typer.Option(7, help="Days between snapshots."),
    version: Optional[int] = typer.Option(None, help="Version to check (default: the champion)."),
    report: Optional[Path] = typer.Option(None, help="HTML drift report to write."),
    out: Optional[Path] = typer.Option(None, help="JSON verdict to write (also kept in "
                                       "REGISTRY/NAME/monitoring/latest.json)."),
):
    """Check feature snapshots and scores since a date against the model's training reference.

    Snapshots whose horizon has fully passed are also scored against what customers actually
    spent, overall and per attribute, RFM segment and LTV tier, flagging groups whose error
    is far above the overall error. Exit code 0 whatever the verdict (read it from the
    output or the JSON); 2 on an error.
    """
    from ltv.cli.slicing import segment_groups
    from ltv.monitoring.console import drift_tables, realized_tables
    from ltv.monitoring.report import write_drift_report
    from ltv.monitoring.run import monitor as run_monitor, monitoring_cutoffs
    from ltv.monitoring.store import write_latest
    from ltv.monitoring.version import load_monitored
    from ltv.models.provenance import feature_options
    import json as _json

    target = load_monitored(registry, name, version)
    cutoffs = monitoring_cutoffs(db, since, until, step)
    with progress_bar(f"checking {len(cutoffs)} snapshots") as tick:
        result = run_monitor(target.predictor, target.reference, db, cutoffs, name=name,
                             version=target.version, progress=tick,
                             feature_options=feature_options(target.manifest),
                             horizon_days=target.manifest.get("horizon_days"),
                             segmenter=segment_groups)
    verdict = result.to_dict()
    for table in drift_tables(verdict) + realized_tables(verdict):
        console.print(table)
    where = write_latest(registry, name, verdict)
    console.print(f"verdict: [bold]{verdict['status']}[/] (stored in {where})")
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(_json.dumps(verdict, indent=1, allow_nan=False) + "\n")
        console.print(f"[green]wrote[/] {out}")
    if report is not None:
        console.print(f"[green]wrote[/] {write_drift_report(report, verdict, target.reference)}")


@app.command()
@fail_cleanly
def retrain(
    registry: Path = typer.Option(..., help="Registry folder (see `ltv export`)."),
    name: str = typer.Option(..., help="Model name in the registry; its champion is challenged."),
    db: Path = typer.Option(..., help="Warehouse file (DuckDB) holding the fresh data."),
    cutoff: str = typer.Option(..., help="Train on rows with ts < cutoff (UTC), or 'today' "
                               "(its midnight); the gate scores [cutoff - horizon, cutoff)."),
    models: Optional[str] = typer.Option(None, help="Challenger: btyd, gbdt, deep, auto or a "
                                         "comma list (default: the champion's hyperparameters)."),
    horizon: Optional[int] = typer.Option(None, help="Horizon in days (default: the champion's)."),
    margin: float = typer.Option(0.01, help="How much the primary metric must improve "
                                 "(absolute, e.g. 0.01 = one Gini point)."),
    primary: str = typer.Option("gini", help="Primary metric: gini, spearman, "
                                "top_decile_capture, decile_mape, abs_bias, auc, ..."),
    guard: Optional[str] = typer.Option(None, help="Guards: metric=most it may worsen, e.g. "
                                        "decile_mape=0.1,abs_bias=0.1 (the default); 'none'."),
    bootstrap_rounds: int = typer.Option(200, help="Paired bootstrap resamples of the customers "
                                         "(0: no test that the improvement is real)."),
    confidence: float = typer.Option(0.9, help="Level of the bootstrap intervals."),
    warm_start: Optional[bool] = typer.Option(None, "--warm-start/--no-warm-start",
                                              help="Continue from the champion (GBDT trees, "
                                              "deep weights). Default: when possible."),
    max_data_lag: int = typer.Option(7, help="Refuse a warehouse whose last transaction is "
                                     "more than this many days before the cutoff."),
    json_out: bool = typer.Option(False, "--json", help="Print the decision as one JSON line."),
):
    """Train a challenger on fresh data and promote it only if it beats the champion.

    Both are scored on the last fully observed horizon, neither having seen its labels; the
    challenger is published as a new version either way, and the decision (both metric sets,
    margin, verdict, reason) is appended to REGISTRY/NAME/decisions.jsonl. Exit 0 whether the
    challenger was promoted or the champion kept, 2 on an error, 3 when another retrain of
    the same model is running.
    """
    import datetime as dt

    from ltv.cli_support import metrics_table
    from ltv.monitoring.decisions import RetrainLockedError
    from ltv.monitoring.gate import DEFAULT_GUARDS, GateConfig, parse_guards
    from ltv.monitoring.retrain import retrain as run_retrain
    from ltv.online.materialization import resolve_cutoff

    from rich.console import Console

    log = Console(stderr=True)
    guards = parse_guards(guard)
    config = GateConfig(primary=primary, margin=margin,
                        guards=DEFAULT_GUARDS if guards is None else guards,
                        bootstrap_rounds=bootstrap_rounds, confidence=confidence)

    def progress(message: str) -> None:  # timestamped lines: readable in a cron log
        log.print(f"{dt.datetime.now():%Y-%m-%d %H:%M:%S} {message}", highlight=False)

    try:
        result = run_retrain(registry, name, db, resolve_cutoff(cutoff), models=models,
                             horizon_days=horizon, gate=config, warm_start=warm_start,
                             max_data_lag_days=max_data_lag, progress=progress)
    except RetrainLockedError as err:
        log.print(f"[bold red]error:[/] {err}", highlight=False)
        raise typer.Exit(3) from None
    if json_out:
        typer.echo(result.to_json())
        return
    record = result.decision
    nan = float("nan")
    rows = {f"champion v{record['champion']['version']}": record["champion"]["metrics"],
            f"challenger v{result.challenger_version}": record["challenger"]["metrics"]}
    console.print(metrics_table({k: {m: nan if v is None else v for m, v in vals.items()}
                                 for k, vals in rows.items() if vals}))
    console.print(record["evaluation"]["note"])
    console.print(f"warm start: {record['challenger']['warm_start']['reason']}")
    color = "green" if result.promoted else "yellow"
    console.print(f"[{color}]{record['reason']}[/]", highlight=False)
