"""What a model was trained on: the feature schema and a fingerprint of the training data.

`ltv train` writes both to `<model>/training.json`; `ltv export` copies them into the
version's manifest, where a server validates raw feature rows against the schema and an
auditor can tell which data a version saw.

Feature schema, one entry per feature the model reads:
- kind: "number", "string", "timestamp" or "sequence" (a fixed-length list of numbers);
- observed min / max over the training windows and snapshot (numbers, sequences);
- allowed min / max: what the server accepts. A feature that was never negative in training
  (counts, spends of non-returning customers, shares, days) must stay >= 0; the upper end is
  open, since a customer bigger than any seen in training is news, not an error;
- nullable: whether training had missing values (NaN) there;
- length: a sequence's number of elements.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from ltv.features.params import parse_cutoff
from ltv.models.protocol import TrainingData
from ltv.models.training_data import population_options
from ltv.models.typical import typical_row_json

TRAINING_FILE = "training.json"


def feature_schema(data: TrainingData, names: list[str]) -> list[dict[str, Any]]:
    """Schema of `names` as seen in the training windows (and the snapshot, if any)."""
    frames = [data.windows] + ([data.snapshot] if data.snapshot is not None else [])
    return [_column_schema(name, pd.concat([f[name] for f in frames if name in f],
                                           ignore_index=True)) for name in names]


def _column_schema(name: str, values: pd.Series) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name}
    if pd.api.types.is_datetime64_any_dtype(values):
        entry.update(kind="timestamp", nullable=bool(values.isna().any()))
        return entry
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        numbers = values.to_numpy(dtype=float)
        entry.update(kind="number", nullable=bool(np.isnan(numbers).any()))
        return entry | _ranges(numbers)
    present = values.dropna()
    first = present.iloc[0] if len(present) else None
    if isinstance(first, (list, tuple, np.ndarray)):
        lengths = present.map(len)
        numbers = np.concatenate([np.asarray(v, dtype=float) for v in present]) \
            if len(present) else np.array([])
        entry.update(kind="sequence", length=int(lengths.max()),
                     nullable=bool(values.isna().any() or np.isnan(numbers).any()))
        return entry | _ranges(numbers)
    entry.update(kind="string", nullable=bool(values.isna().any()))
    return entry


def _ranges(numbers: np.ndarray) -> dict[str, Any]:
    finite = numbers[np.isfinite(numbers)]
    if not len(finite):
        return {"observed_min": None, "observed_max": None, "allowed_min": None,
                "allowed_max": None}
    low, high = float(finite.min()), float(finite.max())
    return {"observed_min": low, "observed_max": high,
            "allowed_min": 0.0 if low >= 0 else None, "allowed_max": None}


def data_fingerprint(db: str | Path, cutoff) -> dict[str, Any]:
    """Rows, customers, time span, net amount and an order-independent content hash of the
    warehouse transactions before `cutoff`: the data a model trained at `cutoff` could see.

    The hash XORs a 64-bit hash of each (customer_id, ts, amount) row, so it does not depend on
    row order and changes when any such row is added, removed or edited.
    """
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows, customers, first, last, amount, content = con.execute(
            "SELECT count(*), count(DISTINCT customer_id), min(ts), max(ts), sum(amount), "
            "coalesce(bit_xor(hash(customer_id, ts, amount)), 0) "
            "FROM transactions WHERE ts < ?", [parse_cutoff(cutoff)]).fetchone()
    finally:
        con.close()
    digest = hashlib.sha256(f"{rows}:{content}".encode()).hexdigest()[:16]
    return {"table": "transactions", "rows": int(rows), "customers": int(customers),
            "first_ts": None if first is None else str(first),
            "last_ts": None if last is None else str(last),
            "amount_sum": None if amount is None else round(float(amount), 6),
            "content_hash": digest}


def training_info(db: str | Path, data: TrainingData, model, models: str) -> dict[str, Any]:
    """The training.json of `model` (spec `models`) fitted on `data` from the warehouse `db`:
    cutoff, horizon, windows, feature schema, data fingerprint and the reference profile that
    `ltv monitor` checks drift against (`ltv.models.reference`; a caller adds the backtest)."""
    from ltv.models.reference import reference_profile

    schema = feature_schema(data, list(model.feature_names_))
    return {"cutoff": str(data.cutoff), "horizon_days": data.horizon_days, "models": models,
            "training_windows": int(data.windows["cutoff"].nunique()),
            "training_rows": len(data.windows),
            "feature_schema": schema,
            "data_fingerprint": data_fingerprint(db, data.cutoff),
            "population": population_options(data.snapshot) if data.snapshot is not None
            else {},
            # the explanations' baseline row (ltv.models.typical), for a server without data
            "typical_customer": typical_row_json(
                data.snapshot if data.snapshot is not None else data.latest_window,
                list(model.feature_names_)),
            "reference_profile": reference_profile(data, model, schema)}


def feature_options(info: dict[str, Any] | None) -> dict[str, Any]:
    """build_features options that give a later feature table the training's columns (the
    top categories and event types chosen at the training cutoff), from a training.json or
    a registry manifest; {} for one written before they were recorded."""
    chosen = (info or {}).get("population") or {}
    return {k: list(v) for k, v in chosen.items() if k in ("top_categories", "event_types")}


def write_training_info(model_dir: str | Path, info: dict[str, Any]) -> Path:
    """Write `<model_dir>/training.json` atomically (next to the saved model's files)."""
    from ltv.models.persistence import atomic_write_json

    path = Path(model_dir) / TRAINING_FILE
    atomic_write_json(path, info)
    return path


def read_training_info(model_dir: str | Path) -> dict[str, Any] | None:
    """The training.json of a model folder, or None for a model saved without one."""
    import json

    path = Path(model_dir) / TRAINING_FILE
    return json.loads(path.read_text()) if path.is_file() else None
