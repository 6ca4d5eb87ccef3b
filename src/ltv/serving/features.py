"""Feature rows from JSON (or the online store) into the DataFrame a predictor takes.

Every value is checked against the served version's feature schema (the manifest's
`feature_schema`, written by `ltv train`): its kind, whether it may be missing, its allowed
range and a sequence's length. The first problem is reported with its place, e.g.
`rows[3].frequency: expected a number >= 0, got -2`, so a caller can fix the request.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ltv.errors import LTVError

OPTIONAL_PREFIXES = ("cat_share_", "ev_", "conv_", "n_categories")


class FeatureRowError(LTVError):
    """A feature row does not fit the model's schema (-> HTTP 422)."""


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # number | string | timestamp | sequence
    nullable: bool = True
    allowed_min: float | None = None
    allowed_max: float | None = None
    length: int | None = None


class FeatureSchema:
    def __init__(self, columns: list[Column]):
        self.columns = columns
        self.names = [c.name for c in columns]

    @classmethod
    def from_manifest(cls, manifest: dict[str, Any]) -> "FeatureSchema":
        """The manifest's schema; a version published without one gets kinds from names."""
        recorded = {e["name"]: e for e in manifest.get("feature_schema") or []}
        columns = []
        for name in manifest.get("feature_names", []):
            entry = recorded.get(name)
            if entry is None:
                columns.append(Column(name, _kind_from_name(name)))
            else:
                columns.append(Column(name, entry["kind"], bool(entry.get("nullable", True)),
                                      entry.get("allowed_min"), entry.get("allowed_max"),
                                      entry.get("length")))
        return cls(columns)

    def frame(self, rows: list[dict[str, Any]], where: str = "rows",
              positions: list[int] | None = None) -> pd.DataFrame:
        """A DataFrame of `customer_id` plus every schema column, in row order; raises
        FeatureRowError naming `where[i].column` on the first bad value (i: `positions[k]`
        for the k-th row, its place in the request)."""
        places = positions if positions is not None else range(len(rows))
        ids = []
        for i, row in zip(places, rows):
            cid = row.get("customer_id")
            if not isinstance(cid, str) or not cid:
                raise FeatureRowError(f"{where}[{i}].customer_id: expected a non-empty string, "
                                      f"got {cid!r}", "give every row its customer_id")
            ids.append(cid)
        data: dict[str, Any] = {"customer_id": ids}
        for column in self.columns:
            values = [_value(row, column, f"{where}[{i}]") for i, row in zip(places, rows)]
            data[column.name] = _as_array(values, column)
        return pd.DataFrame(data)


def _kind_from_name(name: str) -> str:
    if name.startswith("seq_"):
        return "sequence"
    if name.startswith("attr_"):
        return "string"
    if name == "cutoff" or name.endswith("_ts"):
        return "timestamp"
    return "number"


def _value(row: dict[str, Any], column: Column, where: str) -> Any:
    name = column.name
    if name not in row:
        if name.startswith(OPTIONAL_PREFIXES):
            return 0  # a top category or event type the row's source never saw: none of it
        raise FeatureRowError(f"{where}: missing feature '{name}'",
                              "send every feature the model reads (GET /v1/models lists them "
                              "with their kinds) or score by customer id from the online store")
    value = row[name]
    if value is None or (isinstance(value, float) and math.isnan(value)):
        if not column.nullable:
            raise FeatureRowError(f"{where}.{name}: must not be null (the model never saw it "
                                  "missing)", f"send a {column.kind} for '{name}'")
        return None
    check = _CHECKS[column.kind]
    return check(value, column, f"{where}.{name}")


def _number(value: Any, column: Column, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FeatureRowError(f"{where}: expected a number, got {value!r}",
                              "send a JSON number")
    number = float(value)
    if not math.isfinite(number):
        raise FeatureRowError(f"{where}: expected a finite number, got {value!r}",
                              "send a finite number, or null where the feature may be missing")
    _in_range(number, column, where)
    return number


def _in_range(number: float, column: Column, where: str) -> None:
    if column.allowed_min is not None and number < column.allowed_min:
        raise FeatureRowError(f"{where}: expected a number >= {column.allowed_min:g}, got "
                              f"{number:g}", "the model never saw this feature negative: check "
                              "the feature pipeline")
    if column.allowed_max is not None and number > column.allowed_max:
        raise FeatureRowError(f"{where}: expected a number <= {column.allowed_max:g}, got "
                              f"{number:g}", "check the feature pipeline")


def _string(value: Any, column: Column, where: str) -> str:
    if not isinstance(value, str):
        raise FeatureRowError(f"{where}: expected a string, got {value!r}", "send a JSON string")
    return value


def _timestamp(value: Any, column: Column, where: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError):
        ts = None
    if ts is None or ts is pd.NaT or isinstance(value, (bool, int, float)):
        raise FeatureRowError(f"{where}: expected an ISO 8601 time, got {value!r}",
                              "send e.g. '2024-03-01T00:00:00'")
    return ts.tz_convert("UTC").tz_localize(None) if ts.tzinfo is not None else ts


def _sequence(value: Any, column: Column, where: str) -> np.ndarray:
    if not isinstance(value, (list, tuple, np.ndarray)):
        raise FeatureRowError(f"{where}: expected a list of numbers, got {value!r}",
                              f"send a JSON array of {column.length or 'N'} numbers")
    if column.length is not None and len(value) != column.length:
        raise FeatureRowError(f"{where}: expected {column.length} numbers, got {len(value)}",
                              "send the weekly sequence the model was trained with, oldest "
                              "week first")
    out = np.empty(len(value))
    for j, item in enumerate(value):
        out[j] = _number(item, column, f"{where}[{j}]")
    return out


_CHECKS = {"number": _number, "string": _string, "timestamp": _timestamp,
           "sequence": _sequence}


def _as_array(values: list[Any], column: Column) -> Any:
    if column.kind == "number":
        return np.array([np.nan if v is None else v for v in values], dtype=float)
    if column.kind == "timestamp":
        return pd.to_datetime(pd.Series(values, dtype=object)).astype("datetime64[us]")
    if column.kind == "string":
        return pd.Series(values, dtype=object)
    return pd.Series(values, dtype=object)  # sequences: one numpy array per row
