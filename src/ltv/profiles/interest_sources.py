"""Where the interest model reads from: canonical views of the warehouse, with categories.

Two temp views per `Sources`, both already restricted to rows that can carry an interest:
- `tx`: purchase lines (amount > 0) as (customer_id, ts, cat, basket, amount). `cat` is the
  line's category, else the product's (products on product_id: Complete Journey's
  departments live there), cut to `category_depth` dot-separated levels ("electronics.
  smartphone" -> "electronics" at depth 1) so a REES46 code tree can be read at any level.
  `basket` is one order: order_id within a calendar day (as in `ltv.features.staging`), or
  the timestamp where order_id is missing.
- `ev`: events as (customer_id, ts, cat, event_type), categories filled and cut the same way.
Rows without a category stay in the views: they count towards a customer's overall activity.

Durations (horizon, windows) are `pd.Timedelta`: a number means days, a string is anything
pandas reads ("91D", "50min", "2h").
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import duckdb
import pandas as pd

from ltv.errors import LTVError
from ltv.features.params import parse_cutoff, sql_timestamp
from ltv.features.sources import Inputs, open_connection, register


class InterestError(LTVError):
    """An argument or an input of the interest model is wrong."""


def parse_duration(value, name: str) -> pd.Timedelta:
    """`value` as a positive Timedelta; a plain number means days."""
    if isinstance(value, bool):
        value = None  # True is not a duration, though it is an int
    try:
        if isinstance(value, (int, float)):
            out = pd.Timedelta(days=float(value))
        elif isinstance(value, (str, dt.timedelta, pd.Timedelta)):
            out = pd.Timedelta(value)
        else:
            raise TypeError(type(value).__name__)
    except (TypeError, ValueError) as err:
        raise InterestError(f"{name}={value!r} is not a duration ({err})",
                            f"pass days as a number ({name}=91) or a pandas duration string "
                            f"({name}='50min', '2h', '91D')") from None
    if out is pd.NaT or out <= pd.Timedelta(0):
        raise InterestError(f"{name}={value!r} is not a positive duration",
                            f"pass e.g. {name}=91 (days) or {name}='50min'")
    return out


def duration_label(value: pd.Timedelta) -> str:
    """A short column-name label: 7d, 6h, 50min, 90s."""
    seconds = int(round(value.total_seconds()))
    for unit, size in (("d", 86_400), ("h", 3_600), ("min", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def cutoff_of(value) -> pd.Timestamp:
    """A naive UTC cutoff (exclusive bound), as `ltv.features` reads one."""
    try:
        return pd.Timestamp(parse_cutoff(value))
    except LTVError as err:
        raise InterestError(err.problem, err.fix) from None


def sql_ts(value: pd.Timestamp) -> str:
    return sql_timestamp(pd.Timestamp(value).to_pydatetime())


def _cut_category(expr: str, depth: int | None) -> str:
    clean = f"nullif(trim({expr}), '')"
    if depth is None:
        return clean
    return f"array_to_string(list_slice(string_split({clean}, '.'), 1, {int(depth)}), '.')"


class Sources:
    """Canonical views over a warehouse (path, opened read-only, or an open connection).

    Use as a context manager: the connection (when opened here) and the views go at exit.
    `tx` / `ev` are the view names, None where the warehouse has no such rows at all.
    """

    def __init__(self, db: str | Path | duckdb.DuckDBPyConnection,
                 category_depth: int | None = None):
        if db is None:
            raise InterestError("no warehouse given (db=None)",
                                "pass the DuckDB warehouse written by `ltv ingest`, or an open "
                                "duckdb connection")
        self.con, self._owned, catalog = open_connection(db)
        self._prefix = f"_ltvi_{uuid.uuid4().hex[:8]}_"
        self._inputs = Inputs(self.con, self._owned)
        self._made: list[tuple[str, str]] = []
        try:
            register(self._inputs, catalog, {}, self._prefix,
                     tables=("transactions", "events", "products"))
            self.tx, self.ev = self._views(category_depth)
        except BaseException:
            self.close()
            raise

    def _views(self, depth: int | None) -> tuple[str | None, str | None]:
        src = self._inputs.sources
        fill = None
        if "products" in src and "category" in src["products"].columns:
            # One category per product: the row ingested last wins (as in features.staging).
            fill = self._make("TABLE", "prodcat", f"""
                SELECT product_id, arg_max(category, {{'a': _row_a, 'b': _row_b}}) AS category
                FROM {src['products'].view} WHERE category IS NOT NULL GROUP BY product_id""")
        views = []
        for table, select in (
                ("transactions",
                 "t.customer_id, t.ts, {cat} AS cat, coalesce(t.order_id || '|' || "
                 "CAST(CAST(t.ts AS DATE) AS VARCHAR), CAST(t.ts AS VARCHAR)) AS basket, "
                 "t.amount"),
                ("events", "t.customer_id, t.ts, {cat} AS cat, t.event_type")):
            if table not in src or not self.con.execute(
                    f"SELECT count(*) FROM (SELECT 1 FROM {src[table].view} LIMIT 1)"
            ).fetchone()[0]:
                views.append(None)
                continue
            join, cat = "", "t.category"
            if fill is not None:
                join = f"LEFT JOIN {fill} p ON t.product_id = p.product_id"
                cat = "coalesce(t.category, p.category)"
            where = "WHERE t.amount > 0" if table == "transactions" else ""
            views.append(self._make(
                "VIEW", table[:2],
                f"SELECT {select.format(cat=_cut_category(cat, depth))} "
                f"FROM {src[table].view} t {join} {where}"))
        return views[0], views[1]

    def _make(self, kind: str, what: str, sql: str) -> str:
        name = f"{self._prefix}{what}"
        self.con.execute(f"CREATE OR REPLACE TEMP {kind} {name} AS {sql}")
        self._made.append((kind, name))
        return name

    def query(self, sql: str) -> pd.DataFrame:
        return self.con.execute(sql).df()

    def close(self) -> None:
        if self._owned:
            self.con.close()
            return
        for kind, name in reversed(self._made):
            self.con.execute(f"DROP {kind} IF EXISTS {name}")
        for src in self._inputs.sources.values():
            self.con.execute(f"DROP VIEW IF EXISTS {src.view}")

    def __enter__(self) -> "Sources":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
