"""`monitor`: score feature snapshots at a series of cutoffs and check each for drift.

The cutoffs step weekly (by default) from `since` to the end of the data, so a user sees when
drift started, not only that it is there. Each snapshot is built from the warehouse exactly as
`ltv predict` builds one (`build_features` as of the cutoff, optional share columns the model
knows filled with 0), scored by the published version through `ltv.runtime` (no TensorFlow),
and checked against the version's reference profile (`check_snapshot`).

The result (`MonitoringResult.to_dict()`) is the JSON verdict `ltv monitor` writes: the latest
snapshot's full verdict, one summary row per cutoff (status, alarmed features, mean prediction
against its band, PSI of every feature), and what was monitored. Given the model's horizon,
each snapshot whose horizon has fully passed also gets its realized accuracy, overall and per
group with flags (`ltv.monitoring.realized`), under "realized"; the others say when they
mature.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ltv.errors import LTVError
from ltv.evaluation.slices import FlagRule
from ltv.features.build import build_features
from ltv.features.params import parse_cutoff
from ltv.models.training_data import fill_optional_columns
from ltv.monitoring.drift import Thresholds, check_snapshot

FORMAT_VERSION = 1


@dataclass
class MonitoringResult:
    """Verdicts of one model version over a series of cutoffs (oldest first)."""

    name: str
    version: int | None
    reference: dict[str, Any] = field(repr=False)
    verdicts: list[dict[str, Any]] = field(repr=False)
    generated_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(
        timespec="seconds"))
    realized: list[dict[str, Any]] = field(default_factory=list, repr=False)  # per cutoff
    horizon_days: int | None = None
    end_of_data: str | None = None
    flag_rule: dict[str, Any] | None = None

    @property
    def latest(self) -> dict[str, Any]:
        return self.verdicts[-1]

    def history(self) -> list[dict[str, Any]]:
        """One summary row per cutoff (what the report's time plots draw)."""
        from ltv.monitoring.realized import summary

        rows = []
        for i, v in enumerate(self.verdicts):
            p = v.get("prediction") or {}
            rows.append({"cutoff": v["cutoff"], "status": v["status"],
                         "customers": v["customers"], "drift": v["drift"], "watch": v["watch"],
                         "mean_ltv": p.get("mean_ltv"), "band": p.get("band"),
                         "prediction_status": p.get("status"),
                         "psi": {f["name"]: f.get("psi") for f in v["features"]}})
            if i < len(self.realized):
                rows[-1]["realized"] = summary(self.realized[i])
        return rows

    def realized_dict(self) -> dict[str, Any]:
        """The "realized" part of the verdict: every snapshot's entry, oldest first."""
        matured = [r["cutoff"] for r in self.realized if r["status"] == "matured"]
        return {"horizon_days": self.horizon_days, "end_of_data": self.end_of_data,
                "latest_matured": matured[-1] if matured else None,
                "rule": self.flag_rule, "snapshots": self.realized}

    def to_dict(self) -> dict[str, Any]:
        """The JSON verdict: strict JSON (NaN and infinities become null)."""
        predictions = self.reference.get("predictions") or {}
        return jsonable({
            "format_version": FORMAT_VERSION, "name": self.name, "version": self.version,
            "generated_at": self.generated_at, "status": self.latest["status"],
            "cutoff": self.latest["cutoff"],
            "reference": {"cutoff": self.reference.get("cutoff"),
                          "rows": self.reference.get("rows"),
                          "features": len(self.reference.get("features") or {}),
                          "skipped": self.reference.get("skipped") or {},
                          "windows": predictions.get("windows") or [],
                          "band_mean": predictions.get("band_mean"),
                          "band_std": predictions.get("band_std")},
            "latest": self.latest, "history": self.history(),
            "realized": self.realized_dict()})


def monitoring_cutoffs(db: str | Path, since, until=None, step_days: int = 7) -> list[pd.Timestamp]:
    """since, since + step, ... up to `until` (default: the midnight after the last
    transaction, the end of the data), with the end itself last when off the grid."""
    if isinstance(step_days, bool) or not isinstance(step_days, int) or step_days < 1:
        raise LTVError(f"step_days = {step_days!r} is not a positive whole number of days",
                       "pass e.g. --step 7 for weekly snapshots")
    start = pd.Timestamp(parse_cutoff(since))
    end = pd.Timestamp(parse_cutoff(until)) if until is not None else _end_of_data(db)
    if start > end:
        raise LTVError(f"--since {start.date()} is after the end of the data ({end})",
                       f"choose a date on or before {end.date()}")
    cutoffs = list(pd.date_range(start, end, freq=f"{step_days}D"))
    if cutoffs[-1] < end:
        cutoffs.append(end)
    return cutoffs


def _end_of_data(db: str | Path) -> pd.Timestamp:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        last = con.execute("SELECT max(ts) FROM transactions").fetchone()[0]
    except duckdb.CatalogException:
        last = None
    finally:
        con.close()
    if last is None:
        raise LTVError(f"the warehouse {db} has no transactions", "ingest some with `ltv ingest`")
    return pd.Timestamp(last).normalize() + pd.Timedelta(days=1)


def monitor(predictor, reference: dict[str, Any], db: str | Path, cutoffs: list, *,
            name: str = "", version: int | None = None, thresholds: Thresholds | None = None,
            progress: Callable[[int, int], None] | None = None,
            feature_options: dict[str, Any] | None = None, horizon_days: int | None = None,
            segmenter: Callable | None = None,
            flag_rule: FlagRule | None = None) -> MonitoringResult:
    """Check the snapshot at each cutoff (features from the warehouse `db`, scored by
    `predictor`, anything with `.predict(frame)` and `.feature_names`) against `reference`
    (a manifest's `reference_profile`). `progress(done, total)` is called after each.
    feature_options: build_features options that give the snapshots the training's columns
    (`ltv.models.provenance.feature_options(manifest)`: its top categories and event types).
    horizon_days: the model's horizon; snapshots whose horizon has passed are scored against
    the actual spend (`realized_accuracy`, sliced by attributes and by `segmenter`'s groups
    with `flag_rule`); None scores none."""
    from ltv.monitoring.realized import realized_accuracy

    if not cutoffs:
        raise LTVError("no cutoffs to monitor", "pass --since on or before the end of the data")
    end = _end_of_data(db)
    rule = flag_rule or FlagRule()
    verdicts, realized = [], []
    for i, cutoff in enumerate(cutoffs):
        with warnings.catch_warnings():  # early cutoffs may warn about short histories
            warnings.simplefilter("ignore")
            features = build_features(db, cutoff, **(feature_options or {}))
        if features.empty:
            raise LTVError(f"no customer has a transaction before {pd.Timestamp(cutoff)}",
                           "choose a later --since")
        features = fill_optional_columns(features, list(predictor.feature_names))
        predictions = predictor.predict(features)
        verdicts.append(check_snapshot(reference, features, predictions, thresholds))
        realized.append(realized_accuracy(db, cutoff, horizon_days, end, features, predictions,
                                          segmenter=segmenter, rule=rule))
        if progress:
            progress(i + 1, len(cutoffs))
    return MonitoringResult(name, version, reference, verdicts, realized=realized,
                            horizon_days=horizon_days, end_of_data=str(end),
                            flag_rule=rule.to_dict())


def jsonable(value: Any) -> Any:
    """Plain JSON values: numpy scalars to Python, NaN/inf to None."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value
