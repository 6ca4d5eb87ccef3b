"""Copy a raw stream into a temporary staging table: numbered, with PII already hashed.

The staging table holds the source's own columns (as read: text for CSV, typed for Parquet)
plus `__ltv_row`, the 1-based record number. PII columns are replaced by their HMAC inside
the INSERT that first brings a batch into DuckDB, so the staging table (and everything
derived from it: quarantine records, error messages) only ever sees hashes. Temporary tables
live in memory, not in the warehouse file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa

from ltv.io.pii import hashed_sql
from ltv.io.readers import RawStream
from ltv.schema import sql_ident

ROW = "__ltv_row"  # 1-based record number in the source
FIRST = "__ltv_first"  # for an exact copy: the row it copies
REASON = "__ltv_reason"  # in a plan's stage table: why the row is quarantined (NULL = kept)
_BATCH_VIEW = "__ltv_batch"

Progress = Callable[[int, "int | None", str], None]


@dataclass
class Staged:
    table: str  # temporary table name
    label: str  # the source as reports name it
    types: dict[str, str]  # raw column -> DuckDB type, in source order
    rows: int
    content_hash: str | None  # sha256 of the streamed batches, when asked for
    copies: str | None = None  # temp table (__ltv_row, __ltv_first) of exact copies

    @property
    def columns(self) -> list[str]:
        return list(self.types)


def stage(con: duckdb.DuckDBPyConnection, stream: RawStream, table: str, *,
          pii_columns: set[str], progress: Progress | None = None,
          hash_content: bool = False) -> Staged:
    select = ", ".join([ROW] + [_staged_column(f, pii_columns) for f in stream.schema])
    hasher = hashlib.sha256(stream.schema.serialize()) if hash_content else None
    empty = stream.schema.empty_table().append_column(ROW, pa.array([], pa.int64()))
    _run_on(con, empty, f"CREATE TEMP TABLE {table} AS SELECT {select} FROM {_BATCH_VIEW}")
    done = 0
    try:
        for batch in stream.batches:
            if not batch.num_rows:
                continue
            if hasher is not None:
                hasher.update(batch.serialize())
            rows = pa.array(np.arange(done + 1, done + 1 + batch.num_rows, dtype=np.int64))
            numbered = pa.Table.from_batches([batch]).append_column(ROW, rows)
            _run_on(con, numbered, f"INSERT INTO {table} SELECT {select} FROM {_BATCH_VIEW}")
            done += batch.num_rows
            if progress is not None:
                progress(done, stream.total_rows, stream.label)
    finally:
        stream.close()
    types = {r[0]: r[1] for r in con.execute(f"DESCRIBE {table}").fetchall() if r[0] != ROW}
    return Staged(table=table, label=stream.label, types=types, rows=done,
                  content_hash=hasher.hexdigest() if hasher else None)


def _staged_column(fld: pa.Field, pii_columns: set[str]) -> str:
    col = sql_ident(fld.name)
    if fld.name in pii_columns:
        return f"{hashed_sql(col)} AS {col}"
    if pa.types.is_null(fld.type):  # an all-missing DataFrame column: text, not type NULL
        return f"CAST({col} AS VARCHAR) AS {col}"
    return col


def _run_on(con: duckdb.DuckDBPyConnection, data: pa.Table, sql: str) -> None:
    con.register(_BATCH_VIEW, data)
    try:
        con.execute(sql)
    finally:
        con.unregister(_BATCH_VIEW)


def find_exact_copies(con: duckdb.DuckDBPyConnection, staged: Staged) -> None:
    """Record every row whose raw columns all equal an earlier row's (NULLs compare equal)."""
    staged.copies = f"{staged.table}_copies"
    if not staged.types:
        con.execute(f"CREATE TEMP TABLE {staged.copies} ({ROW} BIGINT, {FIRST} BIGINT)")
        return
    partition = ", ".join(sql_ident(c) for c in staged.columns)
    con.execute(
        f"CREATE TEMP TABLE {staged.copies} AS SELECT {ROW}, {FIRST} FROM ("
        f"SELECT {ROW}, min({ROW}) OVER (PARTITION BY {partition}) AS {FIRST} "
        f"FROM {staged.table}) WHERE {FIRST} < {ROW}")
