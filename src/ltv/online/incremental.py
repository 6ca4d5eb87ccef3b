"""Incremental updates: new transactions or events for one customer -> their new feature row.

The row equals what `build_features` gives for that customer on the warehouse with the new
rows appended, at cutoff = as_of, with the materialized population-level choices (top
categories, event types): it *is* `build_features`, run on an in-memory DuckDB that holds only
this customer's history (see `history`). Costs ~0.1 s per update on a 2-core machine, nearly
all of it DuckDB planning the feature SQL; the lookups that serve predictions never pay it.

Concurrency: read the history, compute, then write features and history in one conditional
write that succeeds only if the history is unchanged (and the generation too); otherwise
re-read and retry. Two servers updating one customer at once both end up applied, in turn.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
import warnings
from collections.abc import Mapping
from typing import Any

import duckdb
import pandas as pd

from ltv.errors import LTVError
from ltv.features.build import build_features
from ltv.features.params import parse_cutoff
from ltv.online import codec
from ltv.online.base import FEATURES, HISTORY, PRODUCTS, OnlineStore, OnlineStoreError, StoreMeta
from ltv.online.history import History, from_us, prune_events, register, customers_view, to_us
from ltv.schema import EVENTS, TRANSACTIONS

TRIES = 20


class EventError(LTVError):
    """New rows for a customer cannot be applied (bad field, late row, wrong customer)."""


def apply_transactions(store: OnlineStore, customer_id: str, rows, as_of=None) -> dict | None:
    """Append transaction lines (DataFrame, list of dicts or one dict with `ts`, `amount`,
    optional order_id, category, product_id, quantity, channel) and return the customer's
    new feature row (as `store.get` returns it); see `apply_rows`."""
    return apply_rows(store, customer_id, transactions=rows, as_of=as_of)


def apply_events(store: OnlineStore, customer_id: str, rows, as_of=None) -> dict | None:
    """Append behaviour events (`ts`, `event_type`, optional product_id, category, price,
    session_id); see `apply_rows`."""
    return apply_rows(store, customer_id, events=rows, as_of=as_of)


def apply_rows(store: OnlineStore, customer_id: str, *, transactions=None, events=None,
               as_of=None) -> dict[str, Any] | None:
    """Apply new rows for one customer and store their features as of `as_of`.

    as_of: the new as-of time (UTC; exclusive: the rows must be before it). Default: now, or
        just after the latest new row if that is later. It must not be before the customer's
        stored as-of (the materialized cutoff, or their last update), and no row may be
        before the stored as-of either: those times are closed (re-materialize to take late
        data in).
    A customer the store has never seen (cold start) starts from an empty history.
    Returns the new feature row, or None when the customer still has no transaction line
    (events only), who has no row in the feature table either.
    """
    cid = _customer(customer_id)
    tx = _transactions(transactions, cid)
    ev = _events(events, cid)
    if not tx and not ev:
        raise EventError(f"no transactions or events given for customer {cid!r}",
                         "send at least one row")
    latest = max(r[0] for r in tx + ev)
    target = _as_of(as_of, latest)
    for _ in range(TRIES):
        meta = store.meta()
        if meta is None:
            raise OnlineStoreError(f"the online store {store.url} is empty",
                                   "run `ltv materialize` first")
        (old,) = store.get_state(HISTORY, [cid])
        hist = History.decode(old) if old else History(to_us(meta.cutoff_ts))
        _check_times(cid, hist, tx + ev, target)
        new_tx = _fill_categories(store, tx, bool(meta.history.get("products")))
        keep_events = meta.options.get("event_types") is not None
        hist = History(target, hist.tx + new_tx,
                       prune_events(hist.events + (ev if keep_events else []), target,
                                    max(meta.options["windows"])),
                       hist.customers)
        frame = recompute(meta, cid, hist)
        writes = {HISTORY: {cid: hist.encode()}}
        value = None
        if len(frame):
            layout = codec.Layout.from_json(meta.layout)
            value = codec.encode_frame(frame, layout, meta.generation)[0]
            writes[FEATURES] = {cid: value}
        if store.write_if(meta.generation, (HISTORY, cid, old), writes):
            if value is None:
                return None
            return codec.decode_records([value], codec.Layout.from_json(meta.layout))[0]
    raise OnlineStoreError(f"customer {cid!r} kept changing while being updated "
                           f"({TRIES} tries)", "retry the request")


_local = threading.local()


def _connection(meta: StoreMeta) -> duckdb.DuckDBPyConnection:
    """This thread's scratch DuckDB, set up for the store's generation."""
    key = (meta.generation, meta.materialized_at)
    if getattr(_local, "key", None) != key:
        con = getattr(_local, "con", None)
        if con is None:
            con = duckdb.connect()
            con.execute("SET threads = 1")  # a handful of rows: threads only cost
            # planning dominates on a handful of rows; the plans stay correct without it
            con.execute("PRAGMA disable_optimizer")
            _local.con = con
        customers = meta.history.get("customers")
        if customers:
            con.register("_ltv_customers_raw", _empty_raw(customers))
            customers_view(con, customers)
        else:
            con.execute("DROP VIEW IF EXISTS customers")
        _local.key = key
    return _local.con


def _empty_raw(customers):
    import pyarrow as pa

    from ltv.online.history import _arrow_type

    return pa.table({f"f{j}": pa.array([], _arrow_type(t)) for j, (_, t) in enumerate(customers)})


def recompute(meta: StoreMeta, customer_id: str, hist: History) -> pd.DataFrame:
    """The customer's feature row (0 or 1 rows) as of hist.as_of, with exactly the
    materialized columns (a column this customer's rows do not produce, such as attributes
    without a customers row, is NULL, as in the full table's LEFT JOIN)."""
    con = _connection(meta)
    register(con, customer_id, hist, meta.history.get("customers"))
    opts = meta.options
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "no transaction before the cutoff": a cold start
        frame = build_features(con, from_us(hist.as_of), windows=opts["windows"],
                               top_k_categories=opts["top_k_categories"],
                               sequence_weeks=opts["sequence_weeks"],
                               top_categories=opts.get("top_categories"),
                               event_types=opts.get("event_types"))
    for name in meta.feature_names:
        if name not in frame.columns:
            frame[name] = None
    return frame[meta.feature_names]


# -- checking the rows ----------------------------------------------------------------------

def _customer(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or str(value) == "":
        raise EventError(f"customer_id is empty ({value!r})", "send the customer's id")
    return str(value)


def _records(rows, what: str) -> list[dict]:
    if rows is None:
        return []
    if isinstance(rows, pd.DataFrame):
        return rows.to_dict("records")
    if isinstance(rows, Mapping):
        return [dict(rows)]
    try:
        return [dict(r) for r in rows]
    except (TypeError, ValueError):
        raise EventError(f"{what} must be a DataFrame, a list of objects or one object, got "
                         f"{type(rows).__name__}", f"send {what} as a list of objects") from None


def _check_columns(rec: dict, i: int, what: str, allowed: tuple[str, ...],
                   required: tuple[str, ...], cid: str) -> None:
    unknown = sorted(set(rec) - set(allowed))
    if unknown:
        raise EventError(f"{what} row {i}: unknown field {unknown[0]!r}",
                         f"use only {', '.join(allowed)}")
    for name in required:
        if _missing(rec.get(name)):
            raise EventError(f"{what} row {i}: field {name!r} is missing or empty",
                             f"give every row a {name}")
    if not _missing(rec.get("customer_id")) and str(rec["customer_id"]) != cid:
        raise EventError(f"{what} row {i}: customer_id {rec['customer_id']!r} is not the "
                         f"customer being updated ({cid!r})",
                         "send each customer's rows in their own request")


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value == ""


def _ts(value, i: int, what: str) -> int:
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            raise ValueError("a number is not a time")
        ts = parse_cutoff(value)
    except (LTVError, ValueError):
        raise EventError(f"{what} row {i}: field 'ts' = {value!r} is not a timestamp",
                         "send ISO 8601 times such as '2024-06-01T12:30:00Z'") from None
    return to_us(ts)


def _number(value, i: int, what: str, name: str, required: bool) -> float | None:
    if _missing(value):
        if required:
            raise EventError(f"{what} row {i}: field {name!r} is missing", f"give a {name}")
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            if isinstance(value, bool):
                raise ValueError
            value = float(value)
        except (TypeError, ValueError):
            raise EventError(f"{what} row {i}: field {name!r} = {value!r} is not a number",
                             f"send {name} as a number (returns negative)") from None
    if not math.isfinite(value):
        raise EventError(f"{what} row {i}: field {name!r} = {value!r} is not finite",
                         f"send a finite {name}")
    return float(value)


def _text(value, i: int, what: str, name: str) -> str | None:
    if _missing(value):
        return None
    if isinstance(value, (dict, list)):
        raise EventError(f"{what} row {i}: field {name!r} = {value!r} is not text",
                         f"send {name} as a string")
    return str(value)


def _transactions(rows, cid: str) -> list[list]:
    out = []
    allowed = TRANSACTIONS.names
    for i, rec in enumerate(_records(rows, "transactions")):
        _check_columns(rec, i, "transactions", allowed, ("ts", "amount"), cid)
        out.append([_ts(rec["ts"], i, "transactions"),
                    _number(rec["amount"], i, "transactions", "amount", True),
                    _text(rec.get("order_id"), i, "transactions", "order_id"),
                    _text(rec.get("category"), i, "transactions", "category"),
                    _number(rec.get("quantity"), i, "transactions", "quantity", False),
                    _text(rec.get("product_id"), i, "transactions", "product_id")])
    return out


def _events(rows, cid: str) -> list[list]:
    out = []
    for i, rec in enumerate(_records(rows, "events")):
        _check_columns(rec, i, "events", EVENTS.names, ("ts", "event_type"), cid)
        _number(rec.get("price"), i, "events", "price", False)
        out.append([_ts(rec["ts"], i, "events"), _text(rec["event_type"], i, "events",
                                                        "event_type")])
    return out


def _as_of(value, latest_us: int) -> int:
    if value is None:
        now = to_us(dt.datetime.now(dt.timezone.utc).replace(tzinfo=None))
        return max(now, latest_us + 1)
    try:
        target = to_us(parse_cutoff(value))
    except LTVError as err:
        raise EventError(f"as_of {value!r} is not a time ({err.problem})",
                         "pass an ISO time (UTC) or leave it out for now") from None
    if target <= latest_us:
        raise EventError(f"as_of {from_us(target)} is not after the latest row "
                         f"({from_us(latest_us)}): features as of a time use rows before it",
                         "pass a later as_of, or leave it out")
    return target


def _check_times(cid: str, hist: History, rows: list[list], target: int) -> None:
    if target < hist.as_of:
        raise EventError(f"as_of {from_us(target)} is before customer {cid!r}'s stored "
                         f"features, as of {from_us(hist.as_of)}",
                         "pass an as_of at or after that time")
    for row in rows:
        if row[0] < hist.as_of:
            raise EventError(f"customer {cid!r}: field 'ts' = {from_us(row[0])} is before "
                             f"the stored features' as-of {from_us(hist.as_of)}, whose "
                             "rows are final", "re-materialize from the warehouse to take "
                             "late rows in (`ltv materialize`)")


def _fill_categories(store: OnlineStore, tx: list[list], products: bool) -> list[list]:
    """Drop product_id, filling a missing category from the materialized products map (as
    `build_features` fills it from the products table)."""
    need = sorted({r[5] for r in tx if r[3] is None and r[5] is not None}) if products else []
    found = dict(zip(need, store.get_state(PRODUCTS, need))) if need else {}
    out = []
    for ts, amount, order_id, category, quantity, product in tx:
        if category is None and found.get(product) is not None:
            category = found[product].decode()
        out.append([ts, amount, order_id, category, quantity])
    return out
