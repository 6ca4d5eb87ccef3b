"""Open a source part as a stream of Arrow record batches, in source order.

Files are read by DuckDB (read_csv with all_varchar so nothing fails at parse time,
read_parquet, read_json) on a separate cursor and streamed batch by batch; DuckDB keeps the
file's row order in a streamed result (preserve_insertion_order), so numbering the batches in
Python gives each record its 1-based source row without relying on `row_number() OVER ()`.

Errors from DuckDB are rewritten for people: the file, what went wrong, and the fix. Lines
DuckDB quotes from the file ("Original Line: ...") are dropped, since they may hold PII.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa

from ltv.errors import IngestError
from ltv.schema import sql_string

if TYPE_CHECKING:
    from ltv.io.sources import Part

BATCH_ROWS = 100_000


@dataclass
class RawStream:
    label: str
    schema: pa.Schema
    batches: Iterator[pa.RecordBatch]
    total_rows: int | None  # for progress; None when unknown until the end (CSV, queries)
    close: Callable[[], None] = lambda: None


class EncodingProblem(Exception):
    """The CSV is not UTF-8; the caller retries with latin-1."""


def open_part(cur: duckdb.DuckDBPyConnection, part: Part, *, csv_options: dict | None = None,
              encoding: str | None = None, redact: Callable[[str], str] = lambda s: s
              ) -> RawStream:
    if part.kind == "postgres":
        from ltv.io.postgres import open_query

        return open_query(part.query, redact)
    if part.kind == "arrow":
        cur.register("__ltv_source", part.table)
        rel = cur.sql("SELECT * FROM __ltv_source")
        return _stream(rel, part, part.table.num_rows, redact)
    path = sql_string(str(part.path))
    if part.kind == "parquet":
        try:
            total = cur.execute(
                f"SELECT sum(num_rows) FROM parquet_file_metadata({path})").fetchall()[0][0]
        except duckdb.Error as err:
            raise _read_error(err, part, redact) from None
        rel = _relation(cur, f"SELECT * FROM read_parquet({path})", part, redact)
        return _stream(rel, part, int(total or 0), redact)
    if part.kind == "json":
        return _open_json(cur, part, redact)
    return _open_csv(cur, part, csv_options or {}, encoding, redact)


def _open_csv(cur, part: Part, options: dict, encoding: str | None, redact) -> RawStream:
    # skip=0: DuckDB's sniffer may otherwise decide to skip leading lines, silently.
    opts = {"header": True, "skip": 0, **options, "all_varchar": True}
    if str(part.path).lower().endswith((".tsv", ".tsv.gz")):
        opts.setdefault("delim", "\t")
    if encoding:
        opts["encoding"] = encoding
    path = sql_string(str(part.path))
    rel = _relation(cur, f"SELECT * FROM read_csv({path}{_opts(opts)})", part, redact)
    if len(rel.columns) == 1 and "," in rel.columns[0] and "delim" not in opts:
        # The sniffer gave up on commas, which happens when rows have different numbers of
        # fields. A strict read with the header's columns makes DuckDB name the bad line.
        names = next(csv.reader([rel.columns[0]]))
        strict = {"auto_detect": False, "header": True, "skip": 0, "delim": ",", "quote": '"',
                  "escape": '"', **({"encoding": encoding} if encoding else {})}
        columns = "{" + ", ".join(f"{sql_string(n)}: 'VARCHAR'" for n in names) + "}"
        rel = _relation(cur, f"SELECT * FROM read_csv({path}{_opts(strict)}, columns={columns})",
                        part, redact)
    return _stream(rel, part, None, redact)


def _open_json(cur, part: Part, redact) -> RawStream:
    path = sql_string(str(part.path))
    fmt = "'auto'" if str(part.path).lower().endswith((".json", ".json.gz")) else "'newline_delimited'"
    probe = _relation(cur, f"SELECT * FROM read_json({path}, format={fmt}, sample_size=-1)",
                      part, redact)
    # Read every field as text so a number column with a stray string still loads and the
    # bad value is quarantined, like CSV.
    columns = "{" + ", ".join(f"{sql_string(c)}: 'VARCHAR'" for c in probe.columns) + "}"
    rel = _relation(cur, f"SELECT * FROM read_json({path}, format={fmt}, columns={columns})",
                    part, redact)
    return _stream(rel, part, None, redact)


def _opts(options: dict) -> str:
    out = []
    for key, value in options.items():
        if isinstance(value, bool):
            out.append(f"{key}={'true' if value else 'false'}")
        elif isinstance(value, int):
            out.append(f"{key}={value}")
        elif isinstance(value, list):
            out.append(f"{key}=[{', '.join(sql_string(v) for v in value)}]")
        else:
            out.append(f"{key}={sql_string(str(value))}")
    return ", " + ", ".join(out) if out else ""


def _relation(cur, sql: str, part: Part, redact):
    try:
        rel = cur.sql(sql)
        rel.columns  # noqa: B018 - forces DuckDB to open and sniff the file now
        return rel
    except duckdb.Error as err:
        raise _read_error(err, part, redact) from None


def _stream(rel, part: Part, total: int | None, redact) -> RawStream:
    try:
        reader = rel.to_arrow_reader(BATCH_ROWS)
    except duckdb.Error as err:
        raise _read_error(err, part, redact) from None

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            yield from reader
        except (duckdb.Error, pa.ArrowException) as err:
            raise _read_error(err, part, redact) from None

    # Closing matters: a pending DuckDB result kept alive (e.g. by a traceback) blocks the
    # next connection to the same file.
    return RawStream(label=part.label, schema=reader.schema, batches=batches(), total_rows=total,
                     close=reader.close)


def _read_error(err: Exception, part: Part, redact) -> Exception:
    message = clean_duckdb_message(str(err))
    if "not utf-8 encoded" in message.lower() or "invalid unicode" in message.lower():
        return EncodingProblem(message)
    what = {"csv": "CSV", "parquet": "Parquet", "json": "JSON"}.get(part.kind, part.kind)
    fix = {
        "csv": "check that the file is text with one record per line and the same number of "
               "fields on every line (quote fields that contain the delimiter)",
        "parquet": "check that the file is a complete Parquet file (re-export it if it was "
                   "truncated), or give it the extension of its real format",
        "json": "check that the file holds one JSON object per line",
    }.get(part.kind, "check the source")
    return IngestError(f"cannot read {part.label} as {what}: {redact(message)}", fix)


def clean_duckdb_message(message: str) -> str:
    """DuckDB's message without its quoted source line and its dump of reader options."""
    lines = []
    for line in message.strip().splitlines():
        if not line.strip():
            if lines:
                break
            continue
        if line.lstrip().lower().startswith(("original line", "possible solution", "possible fix", "*")):
            continue
        lines.append(line.strip())
    text = " ".join(lines)
    return re.sub(r"^(Invalid Input|IO|Conversion|Parser) Error: ", "", text)
