"""`ingest()`: a file, frame or query -> canonical warehouse tables, with quarantine and PII.

One ingest is one DuckDB transaction: the source is read and staged (numbered, PII hashed),
each target table's plan converts and checks the rows, kept rows and quarantined rows are
written, and `ingests` records the accounting. Any error rolls everything back, so a failed
ingest leaves the warehouse exactly as it was.

Re-ingesting is idempotent: the fingerprint (sha256 of the content plus the options) of every
ingest is stored; a source already ingested with the same options is skipped.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import duckdb

from ltv.errors import IngestError, SchemaError
from ltv.io.adapters import Adapter, get_adapter
from ltv.io.casting import EPOCH_FORMATS, Context, show_columns
from ltv.io.load import LoadOptions, load_plan
from ltv.io.mapping import find_column
from ltv.io.pii import install_hmac, key_id, resolve_key, uninstall_hmac
from ltv.io.plan import Plan
from ltv.io.quarantine import quarantined_counts
from ltv.io.readers import EncodingProblem, clean_duckdb_message, open_part
from ltv.io.report import IngestReport, TableReport
from ltv.io.sources import Part, resolve
from ltv.io.staging import ROW, Progress, Staged, find_exact_copies, stage
from ltv.warehouse import connect, ensure_tables

DUPLICATE_POLICIES = ("quarantine", "keep")


def ingest(source: Any, *, db: str | Path | duckdb.DuckDBPyConnection, format: str = "canonical",
           table: str = "transactions", mapping: dict[str, str] | None = None,
           pii: Sequence[str] = (), pii_key: str | None = None, ts_format: str | None = None,
           timezone: str = "UTC", duplicates: str = "quarantine",
           progress: Progress | None = None) -> IngestReport:
    """Ingest `source` into the warehouse `db` and return what happened per target table.

    source: a path (.csv, .csv.gz, .tsv, .parquet, .jsonl/.ndjson; a folder for
        complete-journey), a pandas DataFrame, a pyarrow Table, or `PostgresQuery(dsn, sql)`.
    db: a warehouse path or a connection from `ltv.warehouse.connect` (left open).
    format: canonical (with optional `mapping`), uci-online-retail, complete-journey, rees46
        or taobao. `table` is the target of the canonical format (adapters choose their own).
    mapping: target -> source column, e.g. {"customer": "CustomerID", "ts": "InvoiceDate",
        "amount": "Revenue"}; a value in single quotes is a constant ("'purchase'").
    pii: columns to replace by HMAC-SHA256(pii_key, value) hex before staging (source column
        names, or canonical names such as "customer_id"). The key comes from `pii_key` or
        LTV_PII_KEY; it is only needed when PII columns are declared.
    ts_format: strptime format of text timestamps, or "epoch" / "epoch_ms" for Unix times.
    timezone: zone of timestamps that carry none (stored as UTC); an adapter with a known
        zone (Online Retail: Europe/London) uses it unless another zone is given.
    duplicates: "quarantine" exact copies of earlier source rows and rows identical to rows
        already in the warehouse, or "keep" them.
    progress: called as progress(rows_done, rows_total_or_None, source_label) while reading.
    """
    started = time.perf_counter()
    adapter = get_adapter(format)
    if mapping and adapter.name != "canonical":
        raise IngestError(f"a column map (--map) only applies to --format canonical, not "
                          f"'{adapter.name}', whose columns are known",
                          "drop --map, or use --format canonical with --map for other layouts")
    if duplicates not in DUPLICATE_POLICIES:
        raise IngestError(f"unknown duplicates policy '{duplicates}'",
                          f"use one of: {', '.join(DUPLICATE_POLICIES)}")
    pii = _names(pii)
    key = resolve_key(pii, pii_key)
    parts = adapter.expand(resolve(source))
    con, owned = _connection(db)
    try:
        _check_time_options(con, timezone, ts_format)
        options = json.dumps({
            "format": adapter.name, "table": table if adapter.name == "canonical" else None,
            "mapping": mapping or None, "pii": sorted(pii) or None, "ts_format": ts_format,
            "timezone": timezone, "duplicates": duplicates}, sort_keys=True)
        hashes = [part.content_hash() for part in parts]
        fingerprint = None if None in hashes else _fingerprint(options, hashes, key)
        if fingerprint and (done := _already_ingested(con, fingerprint, adapter.name)):
            return done
        run = _Run(con, adapter, parts, key=key, pii=pii, options=options, progress=progress,
                   ctx=Context(types={}, table=table, ts_format=ts_format, timezone=timezone,
                               mapping=dict(mapping or {}), hide_values=bool(pii)),
                   duplicates=duplicates, fingerprint=fingerprint)
        report = run.execute()
        report.seconds = time.perf_counter() - started
        return report
    finally:
        if owned:
            con.close()


class _Run:
    """The state of one ingest inside its transaction (temporary tables, staged parts)."""

    def __init__(self, con, adapter: Adapter, parts: list[Part], *, key, pii, options, progress,
                 ctx: Context, duplicates: str, fingerprint: str | None):
        self.con, self.adapter, self.parts, self.key, self.pii = con, adapter, parts, key, pii
        self.options, self.progress, self.ctx = options, progress, ctx
        self.duplicates, self.fingerprint = duplicates, fingerprint
        self.prefix = f"__ltv_{uuid.uuid4().hex[:8]}"
        self.redact = _redactor(bool(pii))
        self.pii_found: set[str] = set()

    def execute(self) -> IngestReport:
        con = self.con
        try:
            con.execute("BEGIN TRANSACTION")
        except duckdb.TransactionException:
            raise IngestError("the warehouse connection is inside an open transaction (which "
                              "DuckDB now marks as aborted)",
                              "roll it back, then call ingest outside a transaction: an ingest "
                              "is its own transaction") from None
        # DuckDB's own terminal progress bar would fight the caller's (`progress`).
        bar = con.execute("SELECT current_setting('enable_progress_bar')").fetchone()[0]
        con.execute("SET enable_progress_bar = false")
        try:
            return self._execute()
        finally:
            con.execute(f"SET enable_progress_bar = {'true' if bar else 'false'}")

    def _execute(self) -> IngestReport:
        con = self.con
        try:
            ensure_tables(con)
            if self.key:
                install_hmac(con, self.key)
            staged = [self._stage(i, part) for i, part in enumerate(self.parts)]
            _check_pii_found(self.pii, self.pii_found, [c for s, _ in staged for c in s.columns])
            if self.fingerprint is None:  # a query: its content is known only now
                hashes = [s.content_hash for s, _ in staged]
                self.fingerprint = _fingerprint(self.options, hashes, self.key)
                done = _already_ingested(con, self.fingerprint, self.adapter.name)
                if done:
                    con.execute("ROLLBACK")
                    return done
            reports = self._load(staged)
            con.execute("COMMIT")
            return IngestReport(tables=reports, fingerprint=self.fingerprint,
                                format=self.adapter.name)
        except BaseException as err:
            try:
                con.execute("ROLLBACK")
            except duckdb.Error:  # a failed COMMIT has already rolled back
                pass
            if isinstance(err, duckdb.Error):
                raise IngestError(f"ingest failed: {self.redact(clean_duckdb_message(str(err)))}",
                                  "nothing was written; if the message names a column or value, "
                                  "fix it in the source, else please report this") from None
            raise
        finally:
            self._cleanup()

    def _stage(self, i: int, part: Part) -> tuple[Staged, list[Plan]]:
        table = f"{self.prefix}_raw_{i}"
        cur = self.con.cursor()
        cur.execute("SET enable_progress_bar = false")
        try:
            for encoding in (None, "latin-1"):
                try:
                    stream = open_part(cur, part, csv_options=self.adapter.csv_options(part)
                                       if part.kind == "csv" else None,
                                       encoding=encoding, redact=self.redact)
                    try:
                        types = _duckdb_types(self.con, stream.schema)
                        plans, pii_columns = self._plans(part, types)
                    except BaseException:
                        stream.close()
                        raise
                    staged = stage(self.con, stream, table, pii_columns=pii_columns,
                                   progress=self.progress, hash_content=part.content_hash() is None)
                    break
                except EncodingProblem as problem:
                    self.con.execute(f"DROP TABLE IF EXISTS {table}")
                    if encoding:  # latin-1 decodes any bytes, so this is not reached in practice
                        raise IngestError(f"cannot decode {part.label}: {problem}",
                                          "save the file as UTF-8") from None
        finally:
            cur.close()
        if self.duplicates == "quarantine":
            find_exact_copies(self.con, staged)
        else:
            staged.copies = f"{table}_copies"
            self.con.execute(f"CREATE TEMP TABLE {staged.copies} ({ROW} BIGINT, __ltv_first BIGINT)")
        return staged, plans

    def _plans(self, part: Part, types: dict[str, str]) -> tuple[list[Plan], set[str]]:
        """Plans for this part, built on the staged types (PII columns become text hashes)."""
        self.ctx.types = types
        plans = self.adapter.plans(self.ctx, part)
        found = _pii_columns(self.pii, self.ctx, plans)
        self.pii_found |= set(found)
        pii_columns = set().union(*found.values()) if found else set()
        if pii_columns:
            self.ctx.types = {c: "VARCHAR" if c in pii_columns else t for c, t in types.items()}
            plans = self.adapter.plans(self.ctx, part)
        return plans, pii_columns

    def _load(self, staged: list[tuple[Staged, list[Plan]]]) -> list[TableReport]:
        opts = LoadOptions(fingerprint=self.fingerprint, format=self.adapter.name,
                           options=self.options, duplicates=self.duplicates)
        reports = []
        for i, (raw, plans) in enumerate(staged):
            stages: dict[str, str] = {}
            for plan in plans:
                stage = f"{self.prefix}_{plan.table}_{i}"
                reports.append(load_plan(self.con, plan, raw, stage=stage, stages=stages,
                                         opts=opts))
        return reports

    def _cleanup(self) -> None:
        temps = [r[0] for r in self.con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE temporary AND starts_with(table_name, ?)",
            [self.prefix]).fetchall()]
        for name in temps:
            self.con.execute(f"DROP TABLE IF EXISTS {name}")
        if self.key:
            uninstall_hmac(self.con)


def _pii_columns(pii: tuple[str, ...], ctx: Context, plans: list[Plan]) -> dict[str, set[str]]:
    """PII name -> raw columns to hash: the column itself, or the columns feeding the
    canonical column of that name (e.g. customer_id -> CustomerID)."""
    out: dict[str, set[str]] = {}
    for name in pii:
        column = find_column(ctx, name)
        feeds = {c for plan in plans for c in plan.source_columns(name)}
        if column is not None or feeds:
            out[name] = {column} if column is not None else feeds
    return out


def _check_pii_found(pii: tuple[str, ...], found: set[str], columns: list[str]) -> None:
    for name in pii:
        if name not in found:
            raise SchemaError(
                f"a column declared as PII is not in the source (the source has: "
                f"{show_columns(columns, hide_values=True)})",
                "fix the name in --pii (source column names, or canonical names such as "
                "customer_id); a misspelt PII column would be stored unhashed, so nothing was "
                "ingested", column=name)


def _names(pii: Sequence[str] | str) -> tuple[str, ...]:
    if isinstance(pii, str):
        pii = pii.split(",")
    return tuple(dict.fromkeys(p.strip() for p in pii if p and p.strip()))


def _connection(db) -> tuple[duckdb.DuckDBPyConnection, bool]:
    if isinstance(db, duckdb.DuckDBPyConnection):
        return db, False
    if isinstance(db, (str, Path)):
        try:
            return connect(db), True
        except duckdb.Error as err:
            raise IngestError(f"cannot open the warehouse {db}: {clean_duckdb_message(str(err))}",
                              "check the path; close other programs that hold the file open "
                              "for writing") from None
    raise IngestError(f"db must be a warehouse path or a connection, not {type(db).__name__}",
                      "pass db='ltv.duckdb' or db=ltv.warehouse.connect(path)")


def _check_time_options(con, timezone: str, ts_format: str | None) -> None:
    try:
        con.execute("SELECT CAST(timezone(?, TIMESTAMP '2000-01-01') AS VARCHAR)", [timezone]).fetchone()
    except duckdb.Error:
        raise IngestError(f"unknown time zone '{timezone}'",
                          "use an IANA zone name such as 'Europe/London', 'America/New_York' "
                          "or 'UTC' (--timezone)") from None
    if ts_format and ts_format.lower() not in EPOCH_FORMATS:
        try:
            con.execute("SELECT try_strptime('2000', ?)", [ts_format]).fetchone()
        except duckdb.Error as err:
            raise IngestError(f"invalid timestamp format '{ts_format}': "
                              f"{clean_duckdb_message(str(err))}",
                              "use strptime codes, e.g. '%d/%m/%Y %H:%M' (--ts-format), or "
                              "'epoch' / 'epoch_ms' for Unix times") from None


def _duckdb_types(con, schema) -> dict[str, str]:
    con.register("__ltv_probe", schema.empty_table())
    try:
        return {r[0]: r[1] for r in con.execute("DESCRIBE SELECT * FROM __ltv_probe").fetchall()}
    finally:
        con.unregister("__ltv_probe")


def _fingerprint(options: str, hashes: list[str], key: bytes | None) -> str:
    text = json.dumps({"options": options, "content": hashes,
                       "key": key_id(key) if key else None}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _already_ingested(con, fingerprint: str, fmt: str) -> IngestReport | None:
    rows = con.execute(
        "SELECT ingest_id, table_name, source, rows_read, rows_kept, rows_quarantined "
        "FROM ingests WHERE fingerprint = ? ORDER BY ingest_id", [fingerprint]).fetchall()
    if not rows:
        return None
    tables = [TableReport(table=t, source=s, rows_read=r, rows_kept=k, rows_quarantined=q,
                          reasons=quarantined_counts(con, i), skipped=True, ingest_id=i)
              for i, t, s, r, k, q in rows]
    return IngestReport(tables=tables, fingerprint=fingerprint, format=fmt)


def _redactor(active: bool) -> Callable[[str], str]:
    """With PII declared, drop quoted text from third-party messages (it may be a value)."""
    if not active:
        return lambda text: text
    return lambda text: re.sub(r"(\"[^\"]*\"|'[^']*')", "'<redacted>'", text)
