"""Where the feature builder reads from: warehouse tables or Parquet files, as canonical views.

Each input table becomes a temporary view with the canonical columns of `ltv.schema` (an
optional column that the source lacks is a typed NULL) so the SQL in the other modules never
has to care where rows came from. Parquet is read by DuckDB directly (projection and filter
pushdown; no pandas round trip), which is what makes 100M rows a matter of a minute or two.

Rows without a customer or timestamp, and transactions with a non-finite amount, are skipped:
the warehouse never holds such rows (ingestion quarantines them) and raw Parquet handed to the
fast path is expected to be canonical already.
"""

from __future__ import annotations

import glob
import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from ltv.errors import SchemaError
from ltv.features.params import FeatureError
from ltv.schema import CUSTOMERS, EVENTS, PRODUCTS, TRANSACTIONS, TableContract, sql_ident, sql_string

CONTRACTS = {c.name: c for c in (TRANSACTIONS, EVENTS, CUSTOMERS, PRODUCTS)}
BOOKKEEPING = ("_ingest_id", "_source_row")
WAREHOUSE_ALIAS = "_ltvf_wh"

# Which row of the same key came last: ingestion order in the warehouse, file order in Parquet.
ROW_ORDER = ("_row_a", "_row_b")
PARQUET_ORDER = ("filename", "file_row_number")  # what read_parquet(filename, file_row_number) adds


@dataclass
class Source:
    """A canonical temp view over one input table."""

    table: str
    view: str
    columns: list[str]  # the columns the source really has (canonical ones and attributes)


@dataclass
class Inputs:
    con: duckdb.DuckDBPyConnection
    owned: bool  # True when build_features opened the connection (and must close it)
    sources: dict[str, Source] = field(default_factory=dict)

    def has(self, table: str) -> bool:
        return table in self.sources


def open_connection(db) -> tuple[duckdb.DuckDBPyConnection, bool, str | None]:
    """Return (connection, owned, catalog of the warehouse tables or None for no warehouse).

    A path is attached read-only to a fresh in-memory connection so that building features
    never writes to (or locks for writing) the warehouse file. Without a warehouse (Parquet
    files only) the connection is a new one to this process's scratch database (see
    `_scratch_connection`).
    """
    if isinstance(db, duckdb.DuckDBPyConnection):
        db.execute("SET TimeZone = 'UTC'")
        return db, False, ""
    if db is None:
        return _scratch_connection(), True, None
    con = duckdb.connect()
    _configure(con)
    path = Path(db)
    if not path.exists():
        con.close()
        raise FeatureError(f"warehouse file {str(path)!r} does not exist",
                           "run `ltv ingest` first, pass the right --db, or give the "
                           "transactions as Parquet (transactions=<path or glob>)")
    try:
        con.execute(f"ATTACH {sql_string(str(path))} AS {WAREHOUSE_ALIAS} (READ_ONLY)")
    except duckdb.Error as err:
        con.close()
        raise FeatureError(f"cannot open the warehouse {str(path)!r}: {err}",
                           "check that it is a DuckDB file and that no other process holds "
                           "it open for writing") from None
    return con, True, WAREHOUSE_ALIAS


@contextmanager
def session_settings(con: duckdb.DuckDBPyConnection):
    """Settings for the duration of one build, restored afterwards on a caller's connection.

    preserve_insertion_order=false: no intermediate table or stream needs the order of its
    input (the DataFrame is sorted by an explicit ORDER BY), and keeping it makes parallel
    CREATE TABLE AS and streaming results buffer and reorder rows.
    """
    old = con.execute("SELECT current_setting('preserve_insertion_order')").fetchall()[0][0]
    con.execute("SET preserve_insertion_order = false")
    try:
        yield
    finally:
        con.execute(f"SET preserve_insertion_order = {'true' if old else 'false'}")


_scratch: tuple[int, duckdb.DuckDBPyConnection] | None = None  # (pid, database)
_scratch_lock = threading.Lock()


def _scratch_connection() -> duckdb.DuckDBPyConnection:
    """A new connection to an in-memory DuckDB database opened once per process.

    Opening a database costs ~15 ms (and starts with empty caches): a quarter of a
    `btyd_summary` of 1M lines. Each call still gets a connection of its own, whose temp
    tables and views are its own and go when it is closed. The database is opened again in a
    forked child (a DuckDB database does not survive a fork), and its settings (LTV_THREADS,
    LTV_MEMORY_LIMIT) are read when it is opened.
    """
    global _scratch
    with _scratch_lock:
        if _scratch is None or _scratch[0] != os.getpid():
            database = duckdb.connect()
            _configure(database)
            _scratch = (os.getpid(), database)
        return _scratch[1].cursor()


def _configure(con: duckdb.DuckDBPyConnection) -> None:
    from ltv.settings import get_settings

    settings = get_settings()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET preserve_insertion_order = false")  # see session_settings
    if settings.threads:
        con.execute(f"SET threads = {int(settings.threads)}")
    if settings.memory_limit:
        con.execute(f"SET memory_limit = {sql_string(settings.memory_limit)}")


def parquet_relation(paths, table: str) -> str:
    """`read_parquet(...)` over a file, a glob, a directory (all *.parquet below) or a list."""
    items = list(paths) if isinstance(paths, (list, tuple)) else [paths]
    globs = []
    for item in items:
        text = str(item)
        if os.path.isdir(text):
            text = os.path.join(text, "**", "*.parquet")
        if not glob.glob(text, recursive=True) and "://" not in text:
            raise FeatureError(f"no Parquet file matches {text!r} (given for {table})",
                               f"pass an existing file, directory or glob for {table}=")
        globs.append(sql_string(text))
    return (f"read_parquet([{', '.join(globs)}], union_by_name = true, filename = true, "
            "file_row_number = true)")


def _describe(con: duckdb.DuckDBPyConnection, relation: str) -> dict[str, str] | None:
    try:
        rows = con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
    except duckdb.CatalogException:
        return None
    except duckdb.Error as err:
        raise FeatureError(f"cannot read {relation}: {err}",
                           "check the path and that the files are Parquet") from None
    return {r[0]: r[1] for r in rows}


def register(inputs: Inputs, catalog: str | None, paths: dict, prefix: str,
             tables: tuple[str, ...] | None = None) -> None:
    """Create a canonical view per input table that exists (from `paths` or the warehouse)."""
    for table, contract in CONTRACTS.items():
        if tables is not None and table not in tables:
            continue
        given = paths.get(table)
        if given is not None:
            relation = parquet_relation(given, table)
        elif catalog is not None:
            relation = f"{WAREHOUSE_ALIAS}.main.{table}" if catalog else table
        else:
            continue
        described = _describe(inputs.con, relation)
        if described is None:
            continue  # the table does not exist: its features are simply absent
        if given is not None:
            order = PARQUET_ORDER
            described = {k: v for k, v in described.items() if k not in PARQUET_ORDER}
        else:
            order = tuple(sql_ident(c) if c in described else "NULL" for c in BOOKKEEPING)
        view = f"{prefix}src_{table}"
        inputs.con.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS "
                           + _canonical_select(contract, relation, described, order))
        columns = [c for c in described if c not in BOOKKEEPING]
        inputs.sources[table] = Source(table, view, columns)


def _canonical_select(contract: TableContract, relation: str, described: dict[str, str],
                      order: tuple[str, ...]) -> str:
    """SELECT of the canonical columns; `order` holds the two SQL expressions that order
    rows of the same key by arrival (they become _row_a, _row_b of extra-column tables)."""
    have = set(described)
    missing = [c for c in contract.required if c not in have]
    if missing:
        raise SchemaError(f"required column missing (it has: {', '.join(list(described)[:20])})",
                          f"give the {contract.name} a '{missing[0]}' column (ingest with "
                          f"--map {missing[0]}=<column>)", table=contract.name, column=missing[0])
    parts = []
    for col in contract.columns:
        value = sql_ident(col.name) if col.name in have else "NULL"
        parts.append(f"CAST({value} AS {col.sql_type}) AS {sql_ident(col.name)}")
    if contract.extra_columns:
        canonical = set(contract.names)
        parts += [sql_ident(c) for c in described if c not in canonical and c not in BOOKKEEPING]
        parts += [f"{expr} AS {name}" for expr, name in zip(order, ROW_ORDER)]
    where = [f"{sql_ident(c)} IS NOT NULL" for c in contract.required if c != "amount"]
    if contract.name == "transactions":
        where.append("isfinite(CAST(amount AS DOUBLE))")
    return f"SELECT {', '.join(parts)} FROM {relation} WHERE {' AND '.join(where)}"
