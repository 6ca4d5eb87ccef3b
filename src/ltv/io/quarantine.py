"""Why rows are rejected, and where they go: the `quarantine` table.

A stage table (one per target table of an ingest) carries `__ltv_reason`: NULL for a row to
keep, else the first problem found, in this order: a value that does not convert, a broken
contract rule (e.g. no customer id), an exact copy of an earlier source row, a row identical
to one already in the warehouse. Quarantined rows are written with their raw record as JSON
(PII columns are hashes by then: staging hashed them).

Reports count reasons by *kind*: the reason without the row's own value or row number.
"""

from __future__ import annotations

import duckdb

from ltv.io.staging import REASON, ROW
from ltv.schema import sql_ident, sql_string
from ltv.warehouse import table_columns

EXACT_COPY = "duplicate: exact copy of row "
EXACT_COPY_KIND = "duplicate: exact copy of an earlier row"
EXISTING = "duplicate: identical to a row already in the warehouse"
BOOKKEEPING = ("_ingest_id", "_source_row")


def kind_sql(reason: str) -> str:
    """SQL mapping a reason to its kind ("amount: not a number ('abc')" -> "amount: not a number")."""
    no_value = f"regexp_replace({reason}, ' \\(''.*''\\)$', '')"
    no_row = f"regexp_replace({no_value}, '^{EXACT_COPY}[0-9]+$', '{EXACT_COPY_KIND}')"
    return f"regexp_replace({no_row}, ' \\(ingest [0-9]+, row [0-9]+\\)$', '')"


def exact_copy_reason_sql(first_row: str) -> str:
    return f"CASE WHEN {first_row} IS NOT NULL THEN {sql_string(EXACT_COPY)} || {first_row} END"


def mark_existing_duplicates(con: duckdb.DuckDBPyConnection, stage: str, table: str,
                             attributes: list[str]) -> None:
    """Quarantine kept rows equal, column for column, to a row already in `table`.

    Columns the new rows do not fill count as NULL, so a row only matches an existing row
    that has nothing more. Attribute columns compare as text (their types may differ).
    """
    if not con.execute(f"SELECT EXISTS (SELECT 1 FROM {table})").fetchone()[0]:
        return
    staged = {c.lower(): c for c in table_columns(con, stage)}
    attrs = {a.lower() for a in attributes}
    conditions = []
    for column in table_columns(con, table):
        if column in BOOKKEEPING:
            continue
        mine, theirs = f"s.{sql_ident(staged.get(column.lower(), ''))}", f"e.{sql_ident(column)}"
        if column.lower() not in staged:
            conditions.append(f"{theirs} IS NULL")
        elif column.lower() in attrs:
            conditions.append(f"CAST({mine} AS VARCHAR) IS NOT DISTINCT FROM CAST({theirs} AS VARCHAR)")
        else:
            conditions.append(f"{mine} IS NOT DISTINCT FROM {theirs}")
    order = "ORDER BY e._ingest_id, e._source_row"
    con.execute(
        f"UPDATE {stage} SET {REASON} = {sql_string(EXISTING + ' (ingest ')} || m.ingest_id || "
        f"', row ' || m.source_row || ')' FROM ("
        f"SELECT s.{ROW} AS r, first(e._ingest_id {order}) AS ingest_id, "
        f"first(e._source_row {order}) AS source_row "
        f"FROM {stage} s JOIN {table} e ON {' AND '.join(conditions)} "
        f"WHERE s.{REASON} IS NULL GROUP BY s.{ROW}) m WHERE {stage}.{ROW} = m.r")


def write_quarantine(con: duckdb.DuckDBPyConnection, stage: str, *, ingest_id: int, table: str,
                     source: str, raw: str | None, columns: list[str]) -> None:
    """Copy the stage's rejected rows into `quarantine`, with the record as JSON.

    `raw` is the staged raw table to take the record from (None: take the stage's own
    `columns`, for rows derived from other rows).
    """
    origin = "r" if raw else "s"
    pairs = ", ".join(f"{sql_string(c)}, {origin}.{sql_ident(c)}" for c in columns)
    record = f"json_object({pairs})" if columns else "CAST('{}' AS JSON)"
    join = f"JOIN {raw} r USING ({ROW})" if raw else ""
    con.execute(
        f"INSERT INTO quarantine (ingest_id, table_name, source, source_row, reason, record) "
        f"SELECT ?, ?, ?, s.{ROW}, s.{REASON}, {record} FROM {stage} s {join} "
        f"WHERE s.{REASON} IS NOT NULL ORDER BY s.{ROW}", [ingest_id, table, source])


def stage_counts(con: duckdb.DuckDBPyConnection, stage: str) -> tuple[int, int, dict[str, int]]:
    """(rows read, rows kept, {reason kind: rows}) of a stage table."""
    read, kept = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE {REASON} IS NULL) FROM {stage}").fetchone()
    reasons = dict(con.execute(
        f"SELECT {kind_sql(REASON)} AS kind, count(*) FROM {stage} WHERE {REASON} IS NOT NULL "
        "GROUP BY kind").fetchall())
    return read, kept, reasons


def quarantined_counts(con: duckdb.DuckDBPyConnection, ingest_id: int) -> dict[str, int]:
    """{reason kind: rows} of a past ingest, from the quarantine table."""
    return dict(con.execute(
        f"SELECT {kind_sql('reason')} AS kind, count(*) FROM quarantine WHERE ingest_id = ? "
        "GROUP BY kind", [ingest_id]).fetchall())
