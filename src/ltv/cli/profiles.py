"""Profile commands: profile (segments, churn, cold start, interests), explain."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ltv.cli.base import app, console
from ltv.cli_support import fail_cleanly


@app.command()
@fail_cleanly
def profile(
    db: Path = typer.Option(..., help="Warehouse file (DuckDB)."),
    cutoff: str = typer.Option(..., help="Profiles as of this time (UTC), or 'today' (its "
                               "midnight, as `ltv materialize`); models fit on rows before it."),
    out: Path = typer.Option(..., help="Output .parquet (written atomically)."),
    horizon: int = typer.Option(90, help="Horizon in days of LTV and churn risk."),
    model: Optional[Path] = typer.Option(None, help="Fitted LTV model folder (`ltv train`); default: fit a GBDT."),
    rules: Optional[Path] = typer.Option(None, help="Segment rules JSON to reuse (default: fit on this population)."),
    rules_out: Optional[Path] = typer.Option(None, help="Also save the segment rules used, as JSON."),
    max_windows: Optional[int] = typer.Option(None, help="Training windows for the models fitted here "
                                              "(default: as `ltv train`; fewer is faster)."),
    online: Optional[str] = typer.Option(None, help="Also put each profile in this online store "
                                         "(materialized), for GET /v1/customers/{id}."),
):
    """Per-customer profiles: RFM segment, LTV and tier, churn risk, cold start, interests."""
    from ltv.online.materialization import resolve_cutoff
    from ltv.profiles.build import build_profiles, check_out_path, profile_summary, write_profiles
    from ltv.profiles.segments import SegmentRules

    check_out_path(out)
    fitted = None
    if model is not None:
        from ltv.models.registry import load_model

        fitted = load_model(model)
    given = SegmentRules.load(rules) if rules is not None else None
    training = None
    if max_windows is not None:
        from ltv.models.training_data import training_windows

        training = {**training_windows(horizon), "max_windows": max_windows}
    with console.status("building profiles (features, training windows, models)"):
        frame = build_profiles(db, resolve_cutoff(cutoff), horizon, ltv_model=fitted,
                               rules=given, training=training)
    write_profiles(frame, out)
    if rules_out is not None:
        SegmentRules.from_dict(frame.attrs["profile"]["segments"]["rules"]).save(rules_out)
    from ltv.cli_support import profile_table

    console.print(profile_table(profile_summary(frame)))
    console.print(f"[green]wrote[/] {len(frame):,} profiles x {frame.shape[1]} columns to {out}")
    if online is not None:
        from ltv.online import open_store
        from ltv.online.profiles import write_profiles as store_profiles

        with open_store(online) as store:
            written = store_profiles(store, frame)
        console.print(f"[green]stored[/] {written:,} profiles in {online}")


@app.command()
@fail_cleanly
def explain(
    registry: Path = typer.Option(..., help="Registry folder (see `ltv export`)."),
    name: str = typer.Option(..., help="Model name in the registry; its champion is explained."),
    customer: str = typer.Option(..., help="Customer id, as in the features' customer_id."),
    db: Optional[Path] = typer.Option(None, help="Warehouse file (DuckDB); default: LTV_DB."),
    cutoff: Optional[str] = typer.Option(None, help="Features as of this time (default: end of data)."),
    top: int = typer.Option(10, min=1, help="Number of drivers to show."),
    as_json: bool = typer.Option(False, "--json", help="Print the explanation as JSON."),
):
    """Why the champion predicts what it does for one customer: top drivers in currency."""
    import json

    from ltv.explain.command import explain_customer
    from ltv.explain.render import drivers_table

    with console.status(f"explaining customer {customer}"):
        result = explain_customer(registry, name, customer, db=db, cutoff=cutoff)
    e = result.explanation
    if as_json:
        body = {**e.to_dict(top=top), "version": result.version,
                "cutoff": result.cutoff.isoformat(), "horizon_days": result.horizon_days}
        typer.echo(json.dumps(body, indent=2))
        return
    horizon = f"over the next {result.horizon_days} days" if result.horizon_days else ""
    console.print(drivers_table(e, top, title=f"customer {e.customer_id}: {name} v"
                                f"{result.version} ({e.model}, {e.method}), features as of "
                                f"{result.cutoff:%Y-%m-%d}"))
    console.print(f"predicted net spend {horizon}: [bold]{e.prediction:,.2f}[/]; baseline "
                  f"{e.baseline:,.2f} = {e.baseline_description}", highlight=False)
    for note in e.notes:
        console.print(f"  - {note}", highlight=False)
