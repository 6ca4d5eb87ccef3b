"""Execute one plan: staged raw rows -> checked canonical rows -> table + quarantine.

1. Column checks: a conversion that fails for *every* value stops the ingest (SchemaError),
   since that is a wrong column or format, not bad rows.
2. A stage table holds the converted columns and, per row, the first reason to reject it.
3. Kept rows go to the canonical table with `_ingest_id` and `_source_row`; rejected rows
   go to `quarantine`; one row goes to `ingests`.

The caller wraps all of an ingest's plans in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from ltv.errors import SchemaError
from ltv.io.plan import Plan
from ltv.io.quarantine import (
    exact_copy_reason_sql,
    mark_existing_duplicates,
    stage_counts,
    write_quarantine,
)
from ltv.io.report import TableReport
from ltv.io.staging import FIRST, REASON, ROW, Staged
from ltv.schema import CONTRACTS, sql_ident, sql_string
from ltv.warehouse import add_attribute_columns


@dataclass
class LoadOptions:
    fingerprint: str
    format: str
    options: str  # JSON of the ingest's options, for the `ingests` table
    duplicates: str  # "quarantine" or "keep"


def check_columns(con: duckdb.DuckDBPyConnection, plan: Plan, staged: Staged) -> None:
    """Raise when no value of a column converts (wrong column, type or --ts-format)."""
    checks = plan.checks
    if not checks or plan.derive:
        return
    aggregates = []
    for c in checks:
        bad = c.failed_sql()
        aggregates += [f"count({c.raw})", f"count(*) FILTER (WHERE {bad})",
                       f"min({ROW}) FILTER (WHERE {bad})",
                       f"arg_min({c.raw}, {ROW}) FILTER (WHERE {bad})"]
    where = f"WHERE {plan.where}" if plan.where else ""
    row = con.execute(f"SELECT {', '.join(aggregates)} FROM {staged.table} {where}").fetchone()
    for i, check in enumerate(checks):
        values, bad, first_row, first_value = row[4 * i: 4 * i + 4]
        if values and bad == values:
            shown = first_value if len(first_value) <= 40 else first_value[:40] + "..."
            raise SchemaError(
                f"no value converts to {check.expected} for {check.label} "
                f"({bad:,} values; the first is {shown!r})",
                check.fix, table=plan.table, column=check.column, row=first_row)


def build_stage(con: duckdb.DuckDBPyConnection, plan: Plan, staged: Staged, stage: str,
                stages: dict[str, str], duplicates: str) -> list[str]:
    """Create the stage table; return its data columns (canonical first, then attributes)."""
    contract = CONTRACTS[plan.table]
    columns = contract.names + [a for a in plan.attributes if a not in contract.names]
    selects = []
    for name in columns:
        if name in plan.fields:
            selects.append(f"{plan.fields[name].sql} AS {sql_ident(name)}")
        else:
            sql_type = contract.column(name).sql_type
            selects.append(f"CAST(NULL AS {sql_type}) AS {sql_ident(name)}")
    if plan.derive:
        source = "(" + plan.derive.format(raw=staged.table, **{
            f"stage_{t}": s for t, s in stages.items()}) + ") src"
        conversion, first = "CAST(NULL AS VARCHAR)", "CAST(NULL AS BIGINT)"
    else:
        source = f"{staged.table} LEFT JOIN {staged.copies} USING ({ROW})"
        if plan.where:
            source += f" WHERE {plan.where}"
        whens = " ".join(f"WHEN {c.failed_sql()} THEN {c.reason_sql()}" for c in plan.checks)
        conversion = f"CASE {whens} END" if whens else "CAST(NULL AS VARCHAR)"
        first = FIRST if duplicates == "quarantine" else "CAST(NULL AS BIGINT)"
    rules = contract.rejection_reason_sql(contract.names)
    con.execute(
        f"CREATE TEMP TABLE {stage} AS SELECT * EXCLUDE (__ltv_conversion, __ltv_copy_of), "
        f"coalesce(__ltv_conversion, {rules}, {exact_copy_reason_sql('__ltv_copy_of')}) "
        f"AS {REASON} FROM (SELECT {ROW}, {', '.join(selects)}, {conversion} AS __ltv_conversion, "
        f"{first} AS __ltv_copy_of FROM {source})")
    return columns


def align_attribute_types(con: duckdb.DuckDBPyConnection, stage: str, table: str,
                          attributes: list[str]) -> dict[str, str]:
    """Add new attribute columns to `table`; where one exists with another type, values that
    do not convert to it are quarantined. Returns the insert expression per attribute."""
    have = {r[0].lower(): r[1] for r in con.execute(f"DESCRIBE {table}").fetchall()}
    mine = {r[0]: r[1] for r in con.execute(f"DESCRIBE {stage}").fetchall()}
    add_attribute_columns(con, table, {a: mine[a] for a in attributes if a.lower() not in have})
    inserts = {}
    for attr in attributes:
        target = have.get(attr.lower(), mine[attr])
        col = sql_ident(attr)
        if target == mine[attr]:
            inserts[attr] = col
            continue
        reason = sql_string(f"{attr}: not a {target} like the existing column ('")
        con.execute(
            f"UPDATE {stage} SET {REASON} = {reason} || left(CAST({col} AS VARCHAR), 40) || ''')' "
            f"WHERE {REASON} IS NULL AND {col} IS NOT NULL AND TRY_CAST({col} AS {target}) IS NULL")
        inserts[attr] = f"TRY_CAST({col} AS {target})"
    return inserts


def load_plan(con: duckdb.DuckDBPyConnection, plan: Plan, staged: Staged, *, stage: str,
              stages: dict[str, str], opts: LoadOptions) -> TableReport:
    check_columns(con, plan, staged)
    columns = build_stage(con, plan, staged, stage, stages, opts.duplicates)
    stages[plan.table] = stage
    attributes = [c for c in columns if c in plan.attributes]
    inserts = align_attribute_types(con, stage, plan.table, attributes) if attributes else {}
    if opts.duplicates == "quarantine":
        mark_existing_duplicates(con, stage, plan.table, attributes)
    ingest_id = con.execute("SELECT nextval('ingest_id_seq')").fetchone()[0]
    targets = ", ".join(sql_ident(c) for c in columns)
    values = ", ".join(inserts.get(c, sql_ident(c)) for c in columns)
    con.execute(f"INSERT INTO {plan.table} ({targets}, _ingest_id, _source_row) "
                f"SELECT {values}, {int(ingest_id)}, {ROW} FROM {stage} "
                f"WHERE {REASON} IS NULL ORDER BY {ROW}")
    source = staged.label + (f" [{plan.note}]" if plan.note else "")
    write_quarantine(con, stage, ingest_id=ingest_id, table=plan.table, source=source,
                     raw=None if plan.derive else staged.table,
                     columns=columns if plan.derive else staged.columns)
    read, kept, reasons = stage_counts(con, stage)
    con.execute(
        "INSERT INTO ingests (ingest_id, table_name, source, fingerprint, format, options, "
        "rows_read, rows_kept, rows_quarantined) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [ingest_id, plan.table, source, opts.fingerprint, opts.format, opts.options, read, kept,
         read - kept])
    return TableReport(table=plan.table, source=source, rows_read=read, rows_kept=kept,
                       rows_quarantined=read - kept, reasons=reasons, ingest_id=ingest_id)
