"""One-shot out-of-time backtest: a transactions file in, predictions (and a report) out.

`ltv backtest` is the interface independent checks use, so it stays stable:
- it trains on rows with ts < cutoff only (stacked windows before the cutoff),
- writes one prediction row per customer seen before the cutoff
  (customer_id, model, ltv, ltv_lo, ltv_hi, p_active),
- and, when the file holds data after the cutoff, scores the predictions against the actual
  net spend in [cutoff, cutoff + horizon) and writes the report.

The file is ingested into a scratch warehouse with exact duplicate rows kept (the protocol
counts every line as it was recorded; guests still go to quarantine, as they have no customer).
"""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ltv.evaluation import metrics
from ltv.models.protocol import TrainingData
from ltv.models.selection import model_for, parse_families

@dataclass
class BacktestResult:
    predictions: pd.DataFrame
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)  # model -> metrics
    actual: pd.Series | None = None
    report_path: Path | None = None
    models: dict[str, object] = field(default_factory=dict)  # prediction name -> fitted model
    data: TrainingData | None = None  # what the models were fitted on


def run_backtest(transactions: str | Path, cutoff, horizon_days: int, *, out: str | Path,
                 report: str | Path | None = None, format: str = "canonical",
                 models: str = "auto", workdir: str | Path | None = None,
                 slice_by: str | None = None, segmenter: Callable | None = None) -> BacktestResult:
    """Ingest a transactions file into a scratch warehouse, then `backtest_warehouse`."""
    parse_families(models)  # validated before any work starts
    with scratch_warehouse(transactions, format=format, workdir=workdir) as db:
        return backtest_warehouse(db, cutoff, horizon_days, out=out, report=report,
                                  models=models, slice_by=slice_by, segmenter=segmenter,
                                  dataset=Path(str(transactions)).name)


@contextmanager
def scratch_warehouse(transactions: str | Path, *, format: str = "canonical",
                      workdir: str | Path | None = None) -> Iterator[Path]:
    """A temporary warehouse holding `transactions`, exact duplicates kept; deleted on exit."""
    from ltv.io.ingest import ingest

    with tempfile.TemporaryDirectory(dir=workdir) as scratch:
        db = Path(scratch) / "backtest.duckdb"
        ingest(transactions, db=db, format=format, duplicates="keep")
        yield db


def backtest_warehouse(db: str | Path, cutoff, horizon_days: int, *, out: str | Path,
                       report: str | Path | None = None, models: str = "auto",
                       slice_by: str | None = None, dataset: str | None = None,
                       segmenter: Callable | None = None) -> BacktestResult:
    """Fit each family on windows before the cutoff, predict at it, score if the future is known.

    The report slices the best model's metrics by every attribute and, given a `segmenter`
    (features at the cutoff, predictions -> customer_id + group columns, e.g.
    `ltv.cli.slicing.segment_groups`), by its groups too; see `write_report`."""
    data, predictions, fitted = fit_and_predict(db, cutoff, horizon_days, parse_families(models))
    write_predictions(predictions, out)
    result = BacktestResult(predictions=predictions, models=fitted, data=data)
    actual = _actual_if_observed(db, cutoff, horizon_days)
    if actual is not None:
        result.actual = actual
        result.metrics = score_predictions(predictions, actual)
        if report is not None:
            from ltv.evaluation.report import write_report

            result.report_path = write_report(report, result, data=data, slice_by=slice_by,
                                              dataset=dataset, segmenter=segmenter)
    return result


def fit_and_predict(db, cutoff, horizon_days: int, families: list[str]):
    """(training data, predictions, {name: fitted model}) for each family fitted before `cutoff`.

    Training sees stacked windows whose labels end at or before the cutoff (ts < cutoff only);
    predictions are one row per customer seen before the cutoff and family.
    """
    from ltv.models.training_data import build_training_data, training_windows

    data = build_training_data(db, cutoff, horizon_days, **training_windows(horizon_days))
    frames, fitted = [], {}
    for family in families:
        model = model_for(family).fit(data)
        frames.append(model.predict(data.snapshot))
        fitted[model.name] = model
    return data, pd.concat(frames, ignore_index=True), fitted


def score_predictions(predictions: pd.DataFrame, actual: pd.Series) -> dict[str, dict[str, float]]:
    """`metrics.evaluate` per model, actual net spend lined up by customer_id (not position)."""
    scores = {}
    for name, group in predictions.groupby("model", sort=False):
        y = actual.reindex(group["customer_id"]).to_numpy()
        scores[name] = metrics.evaluate(group.reset_index(drop=True), y)
    return scores


def actual_spend(db, cutoff, horizon_days: int) -> pd.Series:
    """Net spend (currency) in [cutoff, cutoff + horizon_days) per customer seen before the
    cutoff, indexed by customer_id; 0 for a customer who bought nothing in the horizon."""
    from ltv.features.build import build_features

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        labeled = build_features(db, cutoff, horizon_days=horizon_days, labels=True,
                                 top_k_categories=0, sequence_weeks=0)
    return labeled.set_index("customer_id")["label_spend"]


def _actual_if_observed(db, cutoff, horizon_days) -> pd.Series | None:
    """Actual net spend per customer over the horizon, or None if the file ends at the cutoff."""
    import duckdb

    from ltv.features.params import parse_cutoff

    actual = actual_spend(db, cutoff, horizon_days)
    con = duckdb.connect(str(db), read_only=True)
    try:
        after = con.execute("SELECT count(*) FROM transactions WHERE ts >= ?",
                            [parse_cutoff(cutoff)]).fetchone()[0]
    finally:
        con.close()
    if not after:
        return None
    return actual


def write_predictions(predictions: pd.DataFrame, out: str | Path) -> None:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    if out.suffix == ".parquet":
        predictions.to_parquet(tmp, index=False)
    else:
        predictions.to_csv(tmp, index=False)
    tmp.replace(out)
