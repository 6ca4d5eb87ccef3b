"""Per-customer history: the rows an incremental update needs to recompute one customer.

A customer's features are a function of that customer's rows alone, once the population-level
choices (top categories, event types) are fixed. So the store keeps, per customer, the rows
`build_features` reads, and an update recomputes the customer through `build_features` itself
(see `incremental`): one implementation of every feature, so the online row cannot drift from
the offline one.

Kept per customer (JSON, floats as repr, so they round-trip exactly):
  a  the as-of time (microseconds since the epoch): every row before it is known;
  t  transaction lines before it: [ts_us, amount, order_id, category, quantity], the category
     already filled from `products` as `build_features` would (so products are not needed);
  e  events: [ts_us, event_type], only those inside the longest window of some later as-of
     plus the latest one (older events can never count again); none when the materialized
     table has no event columns;
  c  `customers` rows known at the materialized cutoff (valid_from < cutoff or NULL), every
     column, in the warehouse's types (described in StoreMeta.history["customers"]).
Rows keep the warehouse's order (ingest order), new rows are appended, as in a warehouse that
ingests them.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from ltv.features.params import sql_timestamp
from ltv.schema import sql_ident

TX_COLUMNS = ("ts", "amount", "order_id", "category", "quantity")
EPOCH = dt.datetime(1970, 1, 1)
# how a DuckDB type travels in JSON: as itself, or converted on the way in and out
ARROW = {"VARCHAR": pa.string(), "DOUBLE": pa.float64(), "FLOAT": pa.float32(),
         "BIGINT": pa.int64(), "INTEGER": pa.int32(), "SMALLINT": pa.int16(),
         "TINYINT": pa.int8(), "BOOLEAN": pa.bool_(), "UBIGINT": pa.uint64(),
         "UINTEGER": pa.uint32(), "USMALLINT": pa.uint16(), "UTINYINT": pa.uint8()}


def to_us(value: dt.datetime) -> int:
    delta = value - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(us: int) -> dt.datetime:
    return EPOCH + dt.timedelta(microseconds=us)


@dataclass
class History:
    as_of: int  # microseconds since the epoch
    tx: list[list] = field(default_factory=list)
    events: list[list] = field(default_factory=list)
    customers: list[list] = field(default_factory=list)

    def encode(self) -> bytes:
        return json.dumps({"a": self.as_of, "t": self.tx, "e": self.events,
                           "c": self.customers}, separators=(",", ":")).encode()

    @classmethod
    def decode(cls, raw: bytes) -> History:
        d = json.loads(raw)
        return cls(d["a"], d["t"], d["e"], d["c"])


def prune_events(events: list[list], as_of_us: int, longest_window_days: int) -> list[list]:
    """Events that can still count at as_of or later: inside the longest window, and the
    latest one (days_since_last_event)."""
    if not events:
        return events
    since = as_of_us - longest_window_days * 86_400_000_000
    latest = max(range(len(events)), key=lambda i: events[i][0])
    return [e for i, e in enumerate(events) if e[0] >= since or i == latest]


# -- from the warehouse ---------------------------------------------------------------------

def customer_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[list[str]]:
    """[[name, DuckDB type], ...] of the warehouse's customers table."""
    return [[r[0], r[1]] for r in con.execute(f"DESCRIBE {table}").fetchall()]


def _json_sql(name: str, sql_type: str) -> str:
    col = sql_ident(name)
    if sql_type == "TIMESTAMP":
        return f"epoch_us({col})"
    if sql_type == "DATE":
        return f"CAST({col} - DATE '1970-01-01' AS BIGINT)"
    if sql_type in ARROW:
        return col
    return f"CAST({col} AS VARCHAR)"


def extract_sql(wh: str, cutoff: dt.datetime, *, events: bool, longest_window: int,
                customers: list[list[str]] | None) -> str:
    """One row per customer with a row before the cutoff: customer_id, t, e, c (lists of
    structs). `wh` is the catalog of the attached warehouse."""
    cut = sql_timestamp(cutoff)
    prodcat = f"""(SELECT product_id, arg_max(category, {{'a': _ingest_id, 'b': _source_row}})
                   AS category FROM {wh}.main.products WHERE category IS NOT NULL
                   GROUP BY product_id)"""
    parts = [f"""
        SELECT t.customer_id, list([epoch_us(t.ts)::DOUBLE, t.amount]
                                   ORDER BY t._ingest_id, t._source_row) AS tn,
               list([t.order_id, coalesce(t.category, p.category)]
                    ORDER BY t._ingest_id, t._source_row) AS ts_,
               list(t.quantity ORDER BY t._ingest_id, t._source_row) AS tq
        FROM {wh}.main.transactions t LEFT JOIN {prodcat} p ON t.product_id = p.product_id
        WHERE t.ts < {cut} AND t.customer_id IS NOT NULL AND t.ts IS NOT NULL
              AND isfinite(t.amount)
        GROUP BY t.customer_id"""]
    selects = ["tn", "ts_", "tq"]
    if events:
        since = sql_timestamp(cutoff - dt.timedelta(days=longest_window))
        parts.append(f"""
            SELECT customer_id, list([CAST(epoch_us(ts) AS VARCHAR), event_type]
                                     ORDER BY _ingest_id, _source_row) AS ev
            FROM (SELECT * FROM {wh}.main.events
                  WHERE ts < {cut} AND customer_id IS NOT NULL AND event_type IS NOT NULL
                  QUALIFY ts >= {since}
                          OR row_number() OVER (PARTITION BY customer_id ORDER BY ts DESC) = 1)
            GROUP BY customer_id""")
        selects.append("ev")
    if customers:
        fields = ", ".join(f"{sql_ident('f' + str(i))}: {_json_sql(n, t)}"
                           for i, (n, t) in enumerate(customers))
        parts.append(f"""
            SELECT customer_id, list({{{fields}}} ORDER BY _ingest_id, _source_row) AS cu
            FROM {wh}.main.customers
            WHERE (valid_from < {cut} OR valid_from IS NULL) AND customer_id IS NOT NULL
            GROUP BY customer_id""")
        selects.append("cu")
    joined = f"({parts[0]}) q0"
    key = "q0.customer_id"
    for i, part in enumerate(parts[1:], start=1):
        joined += f" FULL OUTER JOIN ({part}) q{i} ON q{i}.customer_id = {key}"
        key = f"coalesce({key}, q{i}.customer_id)"
    return f"SELECT {key} AS customer_id, {', '.join(selects)} FROM {joined}"


def encode_batch(batch: pa.RecordBatch, as_of_us: int, n_customer_cols: int) -> dict[str, bytes]:
    """customer_id -> History bytes for one batch of `extract_sql`'s rows."""
    data = batch.to_pydict()
    n = batch.num_rows
    none = [None] * n
    out = {}
    for i, cid in enumerate(data["customer_id"]):
        tn, ts_, tq = data["tn"][i] or [], data["ts_"][i] or [], data["tq"][i] or []
        tx = [[int(a[0]), a[1], b[0], b[1], q] for a, b, q in zip(tn, ts_, tq)]
        ev = [[int(e[0]), e[1]] for e in (data.get("ev", none)[i] or [])]
        cu = [[row[f"f{j}"] for j in range(n_customer_cols)]
              for row in (data.get("cu", none)[i] or [])]
        out[cid] = History(as_of_us, tx, ev, cu).encode()
    return out


# -- into a per-customer DuckDB --------------------------------------------------------------

def register(con: duckdb.DuckDBPyConnection, customer_id: str, hist: History,
             customers: list[list[str]] | None) -> None:
    """Make `transactions`, `events` and `customers` on `con` hold this customer's history,
    with the warehouse's column types."""
    tx = hist.tx
    con.register("transactions", pa.table({
        "customer_id": pa.array([customer_id] * len(tx), pa.string()),
        "ts": pa.array([r[0] for r in tx], pa.int64()).cast(pa.timestamp("us")),
        "amount": pa.array([r[1] for r in tx], pa.float64()),
        "order_id": pa.array([r[2] for r in tx], pa.string()),
        "category": pa.array([r[3] for r in tx], pa.string()),
        "quantity": pa.array([r[4] for r in tx], pa.float64()),
    }))
    ev = hist.events
    con.register("events", pa.table({
        "customer_id": pa.array([customer_id] * len(ev), pa.string()),
        "ts": pa.array([r[0] for r in ev], pa.int64()).cast(pa.timestamp("us")),
        "event_type": pa.array([r[1] for r in ev], pa.string()),
    }))
    if customers:
        rows = hist.customers
        con.register("_ltv_customers_raw", pa.table({
            f"f{j}": pa.array([r[j] for r in rows], _arrow_type(t))
            for j, (_, t) in enumerate(customers)}))


def customers_view(con: duckdb.DuckDBPyConnection, customers: list[list[str]]) -> None:
    """The `customers` view over the registered raw rows, cast back to the warehouse types
    (created once per connection and generation: re-registering the raw rows updates it)."""
    cols = []
    for j, (name, t) in enumerate(customers):
        raw = sql_ident(f"f{j}")
        if t == "TIMESTAMP":
            expr = f"make_timestamp({raw})"
        elif t == "DATE":
            expr = f"DATE '1970-01-01' + CAST({raw} AS INTEGER)"
        else:
            expr = f"CAST({raw} AS {t})"
        cols.append(f"{expr} AS {sql_ident(name)}")
    con.execute(f"CREATE OR REPLACE TEMP VIEW customers AS SELECT {', '.join(cols)} "
                "FROM _ltv_customers_raw")


def _arrow_type(sql_type: str) -> pa.DataType:
    if sql_type in ("TIMESTAMP", "DATE"):
        return pa.int64()
    return ARROW.get(sql_type, pa.string())
