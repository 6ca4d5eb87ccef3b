"""The embedded DuckDB warehouse file: canonical tables plus ingest bookkeeping.

Tables:
- transactions, events, customers, products: canonical columns (see `ltv.schema`) plus
  `_ingest_id` and `_source_row` so every kept row traces back to its file and line.
- quarantine: every rejected row with its reason, source and row number.
- ingests: one row per (source, target table) with rows read / kept / quarantined.

Every connection uses TimeZone = UTC, so TIMESTAMPTZ values from sources turn into UTC.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from ltv.schema import CUSTOMERS, EVENTS, PRODUCTS, TRANSACTIONS, TableContract, sql_ident

CANONICAL_TABLES: tuple[TableContract, ...] = (TRANSACTIONS, EVENTS, CUSTOMERS, PRODUCTS)

BOOKKEEPING_DDL = (
    "CREATE SEQUENCE IF NOT EXISTS ingest_id_seq START 1",
    """CREATE TABLE IF NOT EXISTS ingests (
        ingest_id BIGINT PRIMARY KEY,
        table_name VARCHAR NOT NULL,
        source VARCHAR NOT NULL,
        fingerprint VARCHAR NOT NULL,
        format VARCHAR,
        options VARCHAR,
        rows_read BIGINT NOT NULL,
        rows_kept BIGINT NOT NULL,
        rows_quarantined BIGINT NOT NULL,
        created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
    )""",
    """CREATE TABLE IF NOT EXISTS quarantine (
        ingest_id BIGINT NOT NULL,
        table_name VARCHAR NOT NULL,
        source VARCHAR NOT NULL,
        source_row BIGINT NOT NULL,
        reason VARCHAR NOT NULL,
        record JSON
    )""",
)


def connect(path: str | Path, *, read_only: bool = False, threads: int | None = None,
            memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) a warehouse file with the session settings `ltv` relies on."""
    path = str(path)
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(path, read_only=read_only)
    con.execute("SET TimeZone = 'UTC'")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    if memory_limit:
        con.execute(f"SET memory_limit = '{memory_limit}'")
    if not read_only:
        ensure_tables(con)
    return con


def table_ddl(contract: TableContract) -> str:
    cols = [f"{sql_ident(c.name)} {c.sql_type}" for c in contract.columns]
    cols += ["_ingest_id BIGINT", "_source_row BIGINT"]
    return f"CREATE TABLE IF NOT EXISTS {contract.name} ({', '.join(cols)})"


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    for stmt in BOOKKEEPING_DDL:
        con.execute(stmt)
    for contract in CANONICAL_TABLES:
        con.execute(table_ddl(contract))


def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
        "ORDER BY ordinal_position", [table]).fetchall()]


def add_attribute_columns(con: duckdb.DuckDBPyConnection, table: str,
                          columns: dict[str, str]) -> None:
    """Add extra attribute columns (name -> DuckDB type) that a table does not have yet."""
    have = set(table_columns(con, table))
    for name, sql_type in columns.items():
        if name not in have:
            con.execute(f"ALTER TABLE {table} ADD COLUMN {sql_ident(name)} {sql_type}")


def row_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    names = [c.name for c in CANONICAL_TABLES] + ["quarantine"]
    return {n: con.execute(f"SELECT count(*) FROM {n}").fetchone()[0] for n in names}
