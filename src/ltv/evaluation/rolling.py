"""Rolling-origin backtest: the one-shot out-of-time backtest repeated at several cutoffs.

Origins are o_k = cutoff - k * step for k = 0 .. origins - 1 (newest first; step defaults to
the horizon). At each origin the models are fitted exactly as `ltv backtest` fits them
(stacked windows whose labels end at or before o_k, so only ts < o_k is seen), predict at o_k,
and are scored against the actual net spend in [o_k, o_k + H).

Every origin's horizon must be fully observed: a warehouse whose last transaction is before
o_0 + H raises instead of scoring a cut-short horizon, which would read as churn.

One origin is one draw of the market; the spread across origins (sample std, ddof=1; nan for a
single origin) shows how much a metric moves with the cutoff. A metric undefined at any origin
(nan) has a nan mean: the summary never averages over a silently smaller set of origins. With
step < horizon the scored windows overlap, so the origins are correlated and the std
understates the uncertainty.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ltv.errors import LTVError
from ltv.evaluation.backtest import (
    actual_spend,
    fit_and_predict,
    score_predictions,
    scratch_warehouse,
    write_predictions,
)
from ltv.models.selection import parse_families

Progress = Callable[[int, "int | None", "str | None"], None]


@dataclass
class RollingResult:
    """`per_origin`: one row per (origin, model): origin (UTC timestamp), model, then every
    metric of `metrics.evaluate`; newest origin first. `summary`: one row per (model, metric)
    with the mean and std (ddof=1) across origins and the number of origins."""

    per_origin: pd.DataFrame
    summary: pd.DataFrame
    horizon_days: int

    @property
    def origins(self) -> list[pd.Timestamp]:
        return list(dict.fromkeys(self.per_origin["origin"]))

    def write(self, out: str | Path) -> Path:
        """Write `per_origin` to .csv or .parquet atomically (a temp file, then a rename)."""
        write_predictions(self.per_origin, out)
        return Path(out)


def origin_dates(cutoff, origins: int, step_days: int) -> list[pd.Timestamp]:
    """[cutoff, cutoff - step, cutoff - 2 * step, ...] as naive UTC timestamps, newest first."""
    from ltv.features.params import parse_cutoff

    newest = pd.Timestamp(parse_cutoff(cutoff))
    return [newest - pd.Timedelta(days=k * step_days) for k in range(origins)]


def rolling_origin_backtest(db: str | Path, cutoff, horizon_days: int, *, origins: int = 3,
                            step_days: int | None = None, models: str = "auto",
                            progress: Progress | None = None) -> RollingResult:
    """Backtest at `origins` cutoffs `step_days` apart (default: the horizon), ending at `cutoff`.

    `progress(done, total, label)` is called before each origin and once at the end.
    """
    families, step = _checked(horizon_days, origins, step_days, models)
    dates = origin_dates(cutoff, origins, step)
    _check_horizon_observed(db, dates, horizon_days)
    rows = []
    # Oldest first: an origin with too little history fails before the longer fits run.
    for done, origin in enumerate(reversed(dates)):
        if progress:
            progress(done, len(dates), f"origin {origin:%Y-%m-%d}")
        rows += _score_origin(db, origin, horizon_days, families, newest=origin == dates[0])
    if progress:
        progress(len(dates), len(dates), None)
    per_origin = (pd.DataFrame(rows).sort_values("origin", ascending=False, kind="stable")
                  .reset_index(drop=True))
    return RollingResult(per_origin=per_origin, summary=summarize(per_origin),
                         horizon_days=horizon_days)


def rolling_backtest_file(transactions: str | Path, cutoff, horizon_days: int, *,
                          format: str = "canonical", workdir: str | Path | None = None,
                          **options) -> RollingResult:
    """Ingest a transactions file into a scratch warehouse (duplicates kept, as `ltv backtest`
    does), then `rolling_origin_backtest` with `options`."""
    _checked(horizon_days, options.get("origins", 3), options.get("step_days"),
             options.get("models", "auto"))  # before the ingest, which can take a while
    with scratch_warehouse(transactions, format=format, workdir=workdir) as db:
        return rolling_origin_backtest(db, cutoff, horizon_days, **options)


def summarize(per_origin: pd.DataFrame) -> pd.DataFrame:
    """Mean and sample std (ddof=1) of every metric across origins, per model."""
    metric_columns = [c for c in per_origin.columns if c not in ("origin", "model")]
    rows = []
    for model, group in per_origin.groupby("model", sort=False):
        for metric in metric_columns:
            values = group[metric].to_numpy(dtype=float)
            rows.append({"model": model, "metric": metric, "mean": float(values.mean()),
                         "std": float(values.std(ddof=1)) if values.size > 1 else float("nan"),
                         "origins": int(values.size)})
    return pd.DataFrame(rows, columns=["model", "metric", "mean", "std", "origins"])


def _score_origin(db, origin: pd.Timestamp, horizon_days: int, families: list[str], *,
                  newest: bool) -> list[dict]:
    try:
        _, predictions, _ = fit_and_predict(db, origin, horizon_days, families)
    except LTVError as err:
        fix = err.fix or ""
        if not newest:
            fix += ("; or move the oldest origin later with fewer origins or a smaller step"
                    if fix else "use fewer origins or a smaller step")
        raise LTVError(f"origin {origin:%Y-%m-%d}: {err.problem}", fix) from err
    scores = score_predictions(predictions, actual_spend(db, origin, horizon_days))
    return [{"origin": origin, "model": name, **values} for name, values in scores.items()]


def _check_horizon_observed(db, dates: list[pd.Timestamp], horizon_days: int) -> None:
    import duckdb

    if not Path(db).exists():
        raise LTVError(f"warehouse file '{db}' does not exist",
                       "run `ltv ingest` first, or pass the right --db")
    con = duckdb.connect(str(db), read_only=True)
    try:
        last = con.execute("SELECT max(ts) FROM transactions").fetchone()[0]
    finally:
        con.close()
    if last is None:
        raise LTVError(f"warehouse '{db}' has no transactions", "ingest a transactions file first")
    last = pd.Timestamp(last)
    horizon = pd.Timedelta(days=horizon_days)
    short = [o for o in dates if o + horizon > last]
    if short:
        latest = (last - horizon).floor("D")
        names = ", ".join(f"{o:%Y-%m-%d} (horizon [{o:%Y-%m-%d}, {o + horizon:%Y-%m-%d}))"
                          for o in short)
        raise LTVError(
            f"the {horizon_days}-day horizon is not fully observed for origin(s) {names}: "
            f"the last transaction is at {last:%Y-%m-%d %H:%M}",
            f"choose a cutoff on or before {latest:%Y-%m-%d} (the cutoff is the newest origin) "
            "or a shorter horizon; if the oldest origin then lacks history, use fewer origins "
            "or a smaller step")


def _checked(horizon_days, origins, step_days, models) -> tuple[list[str], int]:
    families = parse_families(models)
    step = horizon_days if step_days is None else step_days
    for name, value, example in (("horizon_days", horizon_days, 90), ("origins", origins, 3),
                                 ("step_days", step, 30)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise LTVError(f"{name} must be a whole number >= 1, got {value!r}",
                           f"pass e.g. {name}={example}")
    return families, int(step)
