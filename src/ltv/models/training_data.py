"""Stacked out-of-time training windows before a cutoff.

For a cutoff t and horizon H, window k has its origin at o_k = t - H - k * stride: features use
ts < o_k and labels cover [o_k, o_k + H). Every label window ends at or before t, so nothing at
or after the cutoff is ever seen, and a short history still yields several examples per
customer (overlapping label windows when stride < H).

`training_windows(H)` is the stride and window count that training and backtests use: dense
windows, a stride of about H/6 in whole weeks (14 days for H = 90), up to 12 windows. Dense
windows do two things a stride of H cannot. The models at each of `auto`'s validation
origins (`validation_splits`: an origin's inner set keeps the windows whose labels end by it)
are trained on several windows, like the final model, instead of one; and validation origins
are spaced by the stride, so one year of data gives several. Measured on windows before the
cutoff only (benchmarks/window_stride.py, Complete Journey, validation origin 2017-07-03, the
same for every stride): the inner LightGBM over-predicts by 109% / 49% / 27% with a stride
of 30 / 14 / 7 days (1 / 2 / 5 inner windows), its Gini is 0.867 / 0.879 / 0.876, and `auto`
gets 1 / 2 / 3 validation origins. A stride of 7 days trains on twice the rows of 14 and took
2.7x as long, with no gain for the deep family, so the stride is about H/6, not H/13.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import duckdb
import pandas as pd

from ltv.errors import LTVError
from ltv.features.build import build_features
from ltv.features.params import parse_cutoff
from ltv.models.columns import OPTIONAL_PREFIXES
from ltv.models.protocol import TrainingData

MAX_TRAINING_WINDOWS = 12


def training_windows(horizon_days: int) -> dict[str, int]:
    """{"stride_days", "max_windows"} for `build_training_data`: a stride of about a sixth of
    the horizon in whole weeks (at least one week; whole weeks keep every window's weekday mix
    the same), and up to MAX_TRAINING_WINDOWS windows."""
    return {"stride_days": max(7, 7 * round(horizon_days / 42)),
            "max_windows": MAX_TRAINING_WINDOWS}


def window_origins(cutoff: pd.Timestamp, horizon_days: int, first_ts: pd.Timestamp, *,
                   stride_days: int | None = None, max_windows: int = 4,
                   min_history_days: int = 60) -> list[pd.Timestamp]:
    """Origins o_0 > o_1 > ... of labeled windows, newest first, each with enough history."""
    stride = pd.Timedelta(days=stride_days or horizon_days)
    origin = cutoff - pd.Timedelta(days=horizon_days)
    origins = []
    while len(origins) < max_windows and origin - first_ts >= pd.Timedelta(days=min_history_days):
        origins.append(origin)
        origin = origin - stride
    return origins


def build_training_data(db: str | Path | duckdb.DuckDBPyConnection | None, cutoff,
                        horizon_days: int, *, transactions: str | Path | None = None,
                        stride_days: int | None = None, max_windows: int = 4,
                        min_history_days: int = 60, **feature_options) -> TrainingData:
    """Labeled windows before `cutoff` plus the unlabeled snapshot at `cutoff`."""
    cutoff = pd.Timestamp(parse_cutoff(cutoff))
    snapshot = _quiet_build(db, cutoff, transactions=transactions, **feature_options)
    if snapshot.empty:
        raise LTVError(f"no customer has a transaction before the cutoff {cutoff.date()}",
                       "choose a later cutoff")
    first_ts = pd.Timestamp(snapshot["first_purchase_ts"].min()) if "first_purchase_ts" in \
        snapshot else cutoff - pd.Timedelta(days=snapshot["T"].max() + 1)
    origins = window_origins(cutoff, horizon_days, first_ts, stride_days=stride_days,
                             max_windows=max_windows, min_history_days=min_history_days)
    if not origins:
        raise LTVError(
            f"the history before {cutoff.date()} is too short for one {horizon_days}-day "
            f"training window with {min_history_days} days of features before it",
            "choose a later cutoff, a shorter horizon, or a smaller min_history_days")
    # Every window gets the snapshot's category and event-type columns, computed from its own
    # rows: a category that ranks in the top K only at the cutoff still has real shares in
    # earlier windows (not 0), and a column means the same thing in every row the model sees.
    pinned = {**population_options(snapshot), **feature_options}
    frames = [_quiet_build(db, o, horizon_days=horizon_days, labels=True,
                           transactions=transactions, **pinned) for o in origins]
    windows = pd.concat([align_columns(f, snapshot) for f in frames], ignore_index=True)
    return TrainingData(windows=windows, snapshot=snapshot, horizon_days=horizon_days,
                        cutoff=cutoff)


def population_options(features: pd.DataFrame) -> dict[str, list[str]]:
    """The population-level column choices of a `build_features` table (its top categories and
    event types) as build_features options, to build another table with the same columns."""
    chosen = features.attrs.get("population") or {}
    return {key: list(value) for key, value in chosen.items()
            if key in ("top_categories", "event_types") and value is not None}


def align_columns(frame: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """Give `frame` the reference's feature columns (plus its own labels).

    The top categories and event types are chosen per cutoff, so an earlier window can lack a
    share column the reference has: it is filled with 0 (no spend in that category). Core
    columns never differ between cutoffs.
    """
    labels = [c for c in frame.columns if c.startswith("label_")]
    out = frame.copy()
    for col in reference.columns:
        if col not in out.columns:
            if not col.startswith(OPTIONAL_PREFIXES):
                raise LTVError(f"feature column '{col}' is missing from a training window",
                               "build all windows with the same feature options")
            out[col] = 0.0
    return out[list(reference.columns) + labels]


def _quiet_build(db, cutoff, **kwargs) -> pd.DataFrame:
    # Early windows legitimately have short histories; their warnings are noise here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return build_features(db, cutoff, **kwargs)


def fill_optional_columns(features: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """Add optional share/event columns a model was trained with but `features` lacks, as 0.

    A feature table built at a later cutoff can rank other categories into its top K; the
    model's columns then mean "no spend in that category", which is 0. Core columns are left
    alone, so the model's own check still names any that are missing.
    """
    missing = [c for c in names if c not in features.columns and c.startswith(OPTIONAL_PREFIXES)]
    return features.assign(**{c: 0.0 for c in missing}) if missing else features
