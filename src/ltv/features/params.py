"""Checking and normalising the arguments of `build_features`.

Timestamps are naive `TIMESTAMP` values meaning UTC everywhere in `ltv`; a cutoff given with a
time zone is converted to UTC first. The cutoff is an exclusive bound: features see ts < cutoff,
labels see cutoff <= ts < cutoff + horizon.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from ltv.errors import LTVError

DAY_US = 86_400_000_000  # microseconds in a day: DuckDB timestamps have microsecond precision


class FeatureError(LTVError):
    """An argument of `build_features` is wrong (cutoff, horizon, windows, inputs)."""


@dataclass(frozen=True)
class FeatureParams:
    """Validated arguments. `cutoff` is a naive UTC datetime with microsecond precision."""

    cutoff: dt.datetime | None  # None: the midnight after the last transaction
    horizon_days: int | None
    labels: bool
    windows: tuple[int, ...]
    top_k_categories: int
    sequence_weeks: int
    max_event_types: int = 5
    # Fixed population-level choices (see build_features); None: chosen from the data
    top_categories: tuple[str, ...] | None = None
    event_types: tuple[str, ...] | None = None


def parse_cutoff(value: str | dt.datetime | dt.date | pd.Timestamp) -> dt.datetime:
    """Return `value` as a naive UTC datetime; a date means its midnight (UTC)."""
    if isinstance(value, bool) or not isinstance(value, (str, dt.date, pd.Timestamp)):
        raise FeatureError(
            f"cutoff must be a date/time string or a datetime, got {type(value).__name__} {value!r}",
            "pass an ISO date such as '2011-06-01' or '2011-06-01T12:00:00'")
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError) as err:
        raise FeatureError(
            f"cutoff {value!r} is not a date or timestamp ({err})",
            "pass an ISO date such as '2011-06-01' or '2011-06-01T12:00:00' (UTC)") from None
    if ts is pd.NaT:
        raise FeatureError(f"cutoff {value!r} is not a date or timestamp",
                           "pass an ISO date such as '2011-06-01' (UTC)")
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    # ts < cutoff over microsecond timestamps: a sub-microsecond cutoff acts as the next microsecond
    return ts.ceil("us").to_pydatetime()


def check_params(cutoff, horizon_days, labels, windows, top_k_categories,
                 sequence_weeks, top_categories=None, event_types=None) -> FeatureParams:
    parsed = None if cutoff is None else parse_cutoff(cutoff)
    if labels and horizon_days is None:
        raise FeatureError("labels=True needs horizon_days (how many days after the cutoff to "
                           "measure spend over)", "pass horizon_days, e.g. horizon_days=365")
    if labels and parsed is None:
        raise FeatureError("labels=True needs an explicit cutoff: the default cutoff (after the "
                           "last transaction) leaves no future to label",
                           "pass cutoff=<date before the end of the data>")
    if horizon_days is not None:
        if isinstance(horizon_days, bool) or not isinstance(horizon_days, int) or horizon_days <= 0:
            raise FeatureError(f"horizon_days must be a positive whole number of days, got "
                               f"{horizon_days!r}", "pass e.g. horizon_days=90")
    try:
        wins = tuple(sorted({int(w) for w in windows}))
    except (TypeError, ValueError):
        raise FeatureError(f"windows must be whole numbers of days, got {windows!r}",
                           "pass e.g. windows=(7, 30, 90, 180, 365)") from None
    if any(w <= 0 for w in wins):
        raise FeatureError(f"windows must be positive numbers of days, got {windows!r}",
                           "pass e.g. windows=(7, 30, 90, 180, 365)")
    if isinstance(top_k_categories, bool) or not isinstance(top_k_categories, int) \
            or top_k_categories < 0:
        raise FeatureError(f"top_k_categories must be an integer >= 0, got {top_k_categories!r}",
                           "pass e.g. top_k_categories=10 (0 turns category shares off)")
    if isinstance(sequence_weeks, bool) or not isinstance(sequence_weeks, int) \
            or sequence_weeks < 0:
        raise FeatureError(f"sequence_weeks must be an integer >= 0, got {sequence_weeks!r}",
                           "pass e.g. sequence_weeks=52 (0 turns the weekly sequences off)")
    return FeatureParams(parsed, horizon_days, bool(labels), wins, top_k_categories,
                         sequence_weeks, top_categories=_fixed(top_categories, "top_categories"),
                         event_types=_fixed(event_types, "event_types"))


def _fixed(values, name: str) -> tuple[str, ...] | None:
    if values is None:
        return None
    if isinstance(values, str) or not all(isinstance(v, str) for v in values):
        raise FeatureError(f"{name} must be a list of strings, got {values!r}",
                           f"pass e.g. {name}=['books', 'toys'], or None to choose from the data")
    return tuple(values)


def sql_timestamp(value: dt.datetime) -> str:
    """A SQL TIMESTAMP literal with microseconds."""
    return f"TIMESTAMP '{value.strftime('%Y-%m-%d %H:%M:%S.%f')}'"
