"""Read the result of a SQL query on PostgreSQL, streamed in batches to Arrow.

DuckDB's postgres extension cannot be downloaded on offline machines, so this goes through
psycopg 3 with a server-side (named) cursor: the server holds the result and we fetch
`batch_size` rows at a time, so memory stays flat whatever the table size.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from ltv.errors import IngestError
from ltv.io.readers import RawStream

# PostgreSQL type name -> Arrow type; anything else is read as text and converted in SQL.
_ARROW_TYPES = {
    "int2": pa.int64(), "int4": pa.int64(), "int8": pa.int64(), "oid": pa.int64(),
    "float4": pa.float64(), "float8": pa.float64(), "bool": pa.bool_(),
    "timestamptz": pa.timestamp("us", tz="UTC"), "timestamp": pa.timestamp("us"),
    "date": pa.date32(),
}
_CONNECT_FIX = ("check the DSN (host, port, dbname, user, password) and that the server "
                "accepts connections, e.g. with `psql \"<dsn>\" -c 'select 1'`")


@dataclass(frozen=True, repr=False)
class PostgresQuery:
    """A query to ingest: `PostgresQuery("postgresql://user:pw@host:5432/db", "SELECT ...")`.

    `params` are bound by psycopg (never format values into `sql`). The password in `dsn`
    never appears in reports, the `ingests` table or error messages.
    """

    dsn: str
    sql: str
    params: Sequence[Any] | Mapping[str, Any] | None = None
    batch_size: int = 50_000

    @property
    def label(self) -> str:
        where = "postgresql"
        try:
            from psycopg.conninfo import conninfo_to_dict

            info = conninfo_to_dict(self.dsn)
            user = f"{info['user']}@" if info.get("user") else ""
            port = f":{info['port']}" if info.get("port") else ""
            where = f"postgresql://{user}{info.get('host', 'localhost')}{port}/{info.get('dbname', '')}"
        except Exception:  # an unparsable DSN fails later, with psycopg's own message
            pass
        sql = " ".join(self.sql.split())
        return f"{where} ({sql[:100]}{'...' if len(sql) > 100 else ''})"

    def __repr__(self) -> str:
        return f"PostgresQuery({self.label!r})"


def open_query(query: PostgresQuery, redact) -> RawStream:
    """Run the query with a server-side cursor; the stream's batches fetch as they go."""
    import psycopg

    try:
        conn = psycopg.connect(query.dsn)
    except psycopg.Error as err:
        raise IngestError(f"cannot connect to PostgreSQL for {query.label}: "
                          f"{redact(_first_line(err))}", _CONNECT_FIX) from None
    try:
        cur = conn.cursor(name="ltv_ingest")
        cur.execute(query.sql, query.params)
        names = [d.name for d in cur.description]
        types = [_type_name(conn, d.type_code) for d in cur.description]
    except psycopg.Error as err:
        conn.close()
        raise IngestError(f"the PostgreSQL query failed ({query.label}): {redact(_first_line(err))}",
                          "run the query in psql to check it") from None
    schema = pa.schema([(n, _ARROW_TYPES.get(t, pa.string())) for n, t in zip(names, types)])

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            while rows := cur.fetchmany(query.batch_size):
                yield _to_batch(rows, schema)
        except psycopg.Error as err:
            raise IngestError(f"reading from PostgreSQL failed ({query.label}): "
                              f"{redact(_first_line(err))}", "run the query in psql to check it"
                              ) from None
        finally:
            conn.close()

    return RawStream(label=query.label, schema=schema, batches=batches(), total_rows=None,
                     close=conn.close)


def _type_name(conn, oid: int) -> str:
    info = conn.adapters.types.get(oid)
    return info.name if info is not None else "unknown"


def _to_batch(rows: list[tuple], schema: pa.Schema) -> pa.RecordBatch:
    columns = list(zip(*rows))
    arrays = []
    for values, fld in zip(columns, schema):
        if pa.types.is_string(fld.type):
            values = [None if v is None else _as_text(v) for v in values]
        arrays.append(pa.array(values, type=fld.type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    return str(value)


def _first_line(err: Exception) -> str:
    text = str(err).strip().splitlines()
    return re.sub(r"\s+", " ", text[0]) if text else type(err).__name__
