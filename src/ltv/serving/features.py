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
from ltv.models.columns import ATTRIBUTE_PREFIX, OPTIONAL_PREFIXES, SEQUENCE_PREFIX


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

    def check(self, rows: list[dict[str, Any]], where: str = "rows",
              positions: list[int] | None = None) -> dict[str, list]:
        """Checked, coerced values per column ("customer_id" first) of `rows`; raises
        FeatureRowError naming `where[i].column` on the first bad value (i: `positions[k]`
        for the k-th row, its place in the request).

        Plain lists, not a DataFrame: building one costs ~1 ms, so it is done at most once per
        micro-batch (`assemble`), not once per request.
        """
        places = list(positions) if positions is not None else list(range(len(rows)))
        ids = []
        for i, row in zip(places, rows):
            cid = row.get("customer_id")
            if not isinstance(cid, str) or not cid:
                raise FeatureRowError(f"{where}[{i}].customer_id: expected a non-empty string, "
                                      f"got {cid!r}", "give every row its customer_id")
            ids.append(cid)
        checked: dict[str, list] = {"customer_id": ids}
        for column in self.columns:
            checked[column.name] = [_value(row, column, where, i) for i, row in zip(places, rows)]
        return checked

    def from_store(self, rows: list[dict[str, Any]]) -> dict[str, list]:
        """Columns of online-store rows (`store.get_many` values, each with customer_id).

        Trusted: `ltv materialize` and the event updates wrote them with the same feature
        code the model was trained on, so values are not re-checked; a feature the store
        does not hold at all is an error (the store was materialized with other options).
        """
        checked: dict[str, list] = {"customer_id": [row["customer_id"] for row in rows]}
        first = rows[0] if rows else {}
        for column in self.columns:
            name = column.name
            if name in first:
                checked[name] = [row[name] for row in rows]
            elif name.startswith(OPTIONAL_PREFIXES):
                checked[name] = [0.0] * len(rows)
            else:
                raise FeatureRowError(
                    f"the online store has no feature '{name}', which the model reads",
                    "materialize the store with the feature options the model was trained "
                    "with (`ltv materialize`)")
        return checked

    def join(self, parts: list[dict[str, list]]) -> dict[str, list]:
        """Several `check` results as one {column: values} table."""
        if len(parts) == 1:
            return parts[0]
        return {name: [v for part in parts for v in part[name]] for name in parts[0]}

    def assemble(self, parts: list[dict[str, list]]) -> pd.DataFrame:
        """One DataFrame (customer_id + schema columns) from several `check` results."""
        table = self.join(parts)
        # Numbers as one float64 block (one array call, one pandas block): a DataFrame built
        # column by column costs ~1 ms even for one row, on every micro-batch.
        numbers = [c.name for c in self.columns if c.kind == "number"]
        block = np.array([table[name] for name in numbers], dtype=float).T \
            if numbers else np.empty((len(table["customer_id"]), 0))
        others = {"customer_id": pd.Series(table["customer_id"], dtype=object)}
        others.update({c.name: _as_array(table[c.name], c) for c in self.columns
                       if c.kind != "number"})
        return pd.concat([pd.DataFrame(others),
                          pd.DataFrame(block, columns=numbers, copy=False)], axis=1)


def _kind_from_name(name: str) -> str:
    if name.startswith(SEQUENCE_PREFIX):
        return "sequence"
    if name.startswith(ATTRIBUTE_PREFIX):
        return "string"
    if name == "cutoff" or name.endswith("_ts"):
        return "timestamp"
    return "number"


def _value(row: dict[str, Any], column: Column, where: str, i: int) -> Any:
    name = column.name
    try:
        value = row[name]
    except KeyError:
        if name.startswith(OPTIONAL_PREFIXES):
            return 0  # a top category or event type the row's source never saw: none of it
        raise FeatureRowError(f"{where}[{i}]: missing feature '{name}'",
                              "send every feature the model reads (GET /v1/models lists them "
                              "with their kinds) or score by customer id from the online store"
                              ) from None
    kind = column.kind
    if kind == "number" and type(value) is float and value == value and \
            value not in (_INF, -_INF) and column.allowed_max is None and \
            (column.allowed_min is None or value >= column.allowed_min):
        return value  # the common case, checked inline: most features are plain floats
    if value is None or (isinstance(value, float) and math.isnan(value)):
        if not column.nullable:
            raise FeatureRowError(f"{where}[{i}].{name}: must not be null (the model never saw "
                                  "it missing)", f"send a {kind} for '{name}'")
        return None
    return _CHECKS[kind](value, column, f"{where}[{i}].{name}")


_INF = float("inf")


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
    """A non-number column (numbers go into `assemble`'s float block)."""
    if column.kind == "timestamp":
        return pd.to_datetime(pd.Series(values, dtype=object)).astype("datetime64[us]")
    return pd.Series(values, dtype=object)  # strings; sequences: one numpy array per row
