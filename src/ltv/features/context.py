"""The state one `build_features` call shares between the feature modules.

Every module reads the staged tables named here and returns a `Part`: a temp table keyed by
`customer_id` plus the expressions that put its columns into the final table. Temp objects
carry a per-call prefix so that several builds can share a connection.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import duckdb

from ltv.features.params import FeatureParams, sql_timestamp
from ltv.features.sources import Inputs

log = logging.getLogger("ltv.features")


@dataclass
class Part:
    """Feature columns of one module.

    `table` holds at most one row per customer (customers may be missing); `columns` maps
    each output column to the SQL that fills it in the final select, where `{t}` stands for
    the table's alias (e.g. "coalesce({t}.orders_7d, 0)").
    """

    table: str
    columns: dict[str, str]


@dataclass
class Context:
    inputs: Inputs
    params: FeatureParams
    cutoff: dt.datetime  # resolved: never None here
    prefix: str
    created: list[tuple[str, str]] = field(default_factory=list)  # (kind, name), to drop
    # population-level choices made from the data (top categories, event types), by name
    chosen: dict[str, list[str]] = field(default_factory=dict)

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        return self.inputs.con

    @property
    def cut(self) -> str:
        """The cutoff as a SQL TIMESTAMP literal."""
        return sql_timestamp(self.cutoff)

    @property
    def cut_us(self) -> int:
        """The cutoff in microseconds since the epoch (what `epoch_us(ts)` returns)."""
        delta = self.cutoff - dt.datetime(1970, 1, 1)
        return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds

    @property
    def last_day(self) -> dt.date:
        """The last calendar day (UTC) with any time before the cutoff."""
        return (self.cutoff - dt.timedelta(microseconds=1)).date()

    @property
    def last_day_sql(self) -> str:
        return f"DATE '{self.last_day.isoformat()}'"

    @property
    def midnight(self) -> bool:
        """A midnight cutoff makes cutoff-aligned days and calendar days the same days."""
        return self.cutoff.time() == dt.time(0)

    def source(self, table: str) -> str | None:
        src = self.inputs.sources.get(table)
        return src.view if src else None

    def name(self, what: str) -> str:
        return f"{self.prefix}{what}"

    def table(self, what: str, sql: str) -> str:
        name = self.name(what)
        with self.timed(what):
            self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}")
        self.created.append(("TABLE", name))
        return name

    @contextmanager
    def timed(self, what: str):
        """Log wall and CPU seconds (all threads) of a step at DEBUG level."""
        wall, cpu = time.perf_counter(), time.process_time()
        yield
        log.debug("%-12s %6.2f s wall %6.2f s cpu", what, time.perf_counter() - wall,
                  time.process_time() - cpu)

    def view(self, what: str, sql: str) -> str:
        name = self.name(what)
        self.con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {sql}")
        self.created.append(("VIEW", name))
        return name

    def drop(self, name: str) -> None:
        for kind, created in list(self.created):
            if created == name:
                self.con.execute(f"DROP {kind} IF EXISTS {name}")
                self.created.remove((kind, created))

    def drop_all(self) -> None:
        for kind, name in reversed(self.created):
            try:
                self.con.execute(f"DROP {kind} IF EXISTS {name}")
            except duckdb.Error:
                pass
        self.created.clear()

    def scalar(self, sql: str):
        return self.con.execute(sql).fetchall()[0][0]  # fetchall: leaves no open result
