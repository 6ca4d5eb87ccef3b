"""`make demo`: the main job end to end on an embedded default (a simulated shop).

simulate -> ingest into a DuckDB warehouse -> point-in-time features with labels ->
out-of-time backtest of the model families and the `auto` blend -> HTML report -> deploy
`auto` (registry, online store, profiles) and real requests to `ltv serve`: predictions and
one customer's full profile with the drivers of its prediction -> summary.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table

from ltv.cli_support import progress_bar

DEMO_START, DEMO_END, DEMO_HORIZON = "2022-01-01", "2023-12-31", 90


def run_demo(out: Path, *, customers: int = 5_000, console: Console | None = None,
             models: str = "auto,btyd,gbdt,deep") -> dict:
    """Run the demo into `out/` (replaced if present) and return the summary numbers.
    `models`: the families to backtest; the first one is deployed and served."""
    from ltv.features.build import build_features
    from ltv.io.ingest import ingest
    from ltv.simulate import simulate, table_files
    from ltv.warehouse import connect, row_counts

    console = console or Console()
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    sim_dir, db_path = out / "sim", out / "shop.duckdb"

    console.rule("[bold]1. simulate a shop with known ground truth")
    with progress_bar("simulating") as tick:
        sim = simulate(customers, sim_dir, start=DEMO_START, end=DEMO_END,
                       horizon_days=DEMO_HORIZON, seed=7, progress=tick)
    console.print(f"{sim.n_customers:,} customers, {sim.n_transactions:,} transactions, "
                  f"{sim.n_events:,} events")

    console.rule("[bold]2. ingest into the warehouse")
    sources = table_files(sim_dir)
    read = kept = quarantined = 0
    with progress_bar("ingesting") as tick:
        for i, (path, table) in enumerate(sources):
            report = ingest(path, db=db_path, table=table)
            for t in report.tables:
                read, kept, quarantined = read + t.rows_read, kept + t.rows_kept, quarantined + t.rows_quarantined
            tick(i + 1, len(sources))
    console.print(f"rows read {read:,} = kept {kept:,} + quarantined {quarantined:,}")

    console.rule("[bold]3. point-in-time features and labels")
    cutoff = (pd.Timestamp(DEMO_END) + pd.Timedelta(days=1) - pd.Timedelta(days=DEMO_HORIZON))
    features_path = out / "train.parquet"
    with console.status("building features"):
        frame = build_features(db_path, cutoff, horizon_days=DEMO_HORIZON, labels=True,
                               out=features_path)
    con = connect(db_path, read_only=True)
    counts = row_counts(con)
    con.close()

    console.rule("[bold]4. train before the cutoff, predict, score the next 90 days")
    from ltv.cli_support import metrics_table
    from ltv.evaluation.backtest import backtest_warehouse

    with console.status(f"fitting {models} on windows before the cutoff"):
        result = backtest_warehouse(db_path, cutoff, DEMO_HORIZON, out=out / "predictions.csv",
                                    report=out / "report.html", models=models,
                                    dataset="simulated shop (ltv simulate)")
    console.print(metrics_table(result.metrics))
    console.print(f"predictions: {out / 'predictions.csv'}   report: {result.report_path}")

    deployed = models.split(",")[0].strip()
    console.rule(f"[bold]5. deploy {deployed} and ask the prediction server")
    from ltv.demo_serving import deploy_and_serve

    served = deploy_and_serve(out, db_path, result.models[deployed], result.data,
                              pd.Timestamp(DEMO_END) + pd.Timedelta(days=1), console)

    summary = {
        "customers_with_history": len(frame),
        "feature_columns": frame.shape[1],
        "cutoff": str(cutoff.date()),
        "active_next_90d": float(frame["label_active"].mean()),
        "mean_spend_next_90d": float(frame["label_spend"].mean()),
        "rows_read": read, "rows_kept": kept, "rows_quarantined": quarantined,
        **{f"{model}_gini": values["gini"] for model, values in result.metrics.items()},
        "served_predictions": len(served["response"]["predictions"]),
        "profiled_customer_segment": (served["customer"].get("profile") or {}).get("rfm_segment"),
        "explained_drivers": len((served["customer"].get("explanation") or {}).get("drivers", [])),
        **{f"warehouse_{k}": v for k, v in counts.items()},
    }
    table = Table(title=f"ltv demo summary (features: {features_path})")
    table.add_column("what")
    table.add_column("value", justify="right")
    for key, value in summary.items():
        table.add_row(key, f"{value:,.3f}" if isinstance(value, float) else f"{value:,}" if isinstance(value, int) else value)
    console.print(table)
    return summary
