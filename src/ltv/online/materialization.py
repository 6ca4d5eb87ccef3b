"""`materialize`: the latest features per customer, from the warehouse into an online store.

Builds the features at the cutoff with `build_features`, then writes, as one new generation
of the store (readers see the old one until the end): the feature rows, each customer's
history for incremental updates (`history`), and the product -> category map that fills
categories of new lines. Customers with only events or only a customers row get a history
too, so their first transaction (a cold start online) sees what a full recompute would.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import duckdb

from ltv.features.build import build_features
from ltv.features.params import FeatureError, parse_cutoff
from ltv.features.sources import WAREHOUSE_ALIAS
from ltv.online.base import PRODUCTS, OnlineStore, StoreMeta
from ltv.online.history import customer_columns, encode_batch, extract_sql, to_us
from ltv.schema import sql_string

BATCH_ROWS = 10_000
Progress = Callable[[int, int | None, str | None], None]


def resolve_cutoff(cutoff) -> dt.datetime:
    """`today` is today's midnight UTC; anything else as `build_features` reads it."""
    if isinstance(cutoff, str) and cutoff.strip().lower() == "today":
        return dt.datetime.combine(dt.datetime.now(dt.timezone.utc).date(), dt.time(0))
    return parse_cutoff(cutoff)


def materialize(db: str | Path, cutoff, store: OnlineStore | str, *,
                windows=(7, 30, 90, 180, 365), top_k_categories: int = 10,
                sequence_weeks: int = 52, batch_rows: int = BATCH_ROWS,
                progress: Progress | None = None, top_categories: list[str] | None = None,
                event_types: list[str] | None = None) -> StoreMeta:
    """Replace the store's content with the features as of `cutoff` (a date or time, UTC, or
    "today") built from the warehouse file `db`. Returns the new generation's metadata
    (rows = customers with a feature row). top_categories, event_types: the share and event
    columns to build (a served model's, `ltv.models.provenance.feature_options(manifest)`);
    None: the top ones at `cutoff`."""
    from ltv.online import open_store

    owned = isinstance(store, str)
    target = open_store(store) if owned else store
    try:
        pinned = {"top_categories": top_categories, "event_types": event_types}
        return _materialize(Path(db), resolve_cutoff(cutoff), target, windows,
                            top_k_categories, sequence_weeks, batch_rows, progress, pinned)
    finally:
        if owned:
            target.close()


def _materialize(db, cutoff, store, windows, top_k, weeks, batch_rows, progress,
                 pinned) -> StoreMeta:
    frame = build_features(db, cutoff, windows=windows, top_k_categories=top_k,
                           sequence_weeks=weeks, **pinned)
    population = frame.attrs.get("population", {})
    wins = sorted({int(w) for w in windows})
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"ATTACH {sql_string(str(db))} AS {WAREHOUSE_ALIAS} (READ_ONLY)")
        customers = _customers(con)
        has_products = bool(con.execute(
            f"SELECT count(*) FROM {WAREHOUSE_ALIAS}.main.products "
            "WHERE category IS NOT NULL").fetchall()[0][0])
        events = population.get("event_types") is not None
        meta = StoreMeta.for_frame(
            frame, cutoff, lists={"seq_spend": weeks, "seq_orders": weeks} if weeks else None,
            options={"windows": wins, "top_k_categories": top_k, "sequence_weeks": weeks,
                     "top_categories": population.get("top_categories"),
                     "event_types": population.get("event_types")},
            history={"customers": customers, "products": has_products},
            source=str(db))
        total = len(frame)
        with store.replace(meta) as batch:
            done = 0
            for start in range(0, total, batch_rows):
                done += batch.write(frame.iloc[start:start + batch_rows])
                if progress:
                    progress(done, total, "features")
            sql = extract_sql(WAREHOUSE_ALIAS, cutoff, events=events,
                              longest_window=max(wins), customers=customers)
            reader = con.sql(sql).to_arrow_reader(batch_rows)
            histories = 0
            for chunk in reader:
                batch.write_state("history",
                                  encode_batch(chunk, to_us(cutoff), len(customers or [])))
                histories += chunk.num_rows
                if progress:
                    progress(histories, None, "histories")
            if has_products:
                _write_products(con, batch, batch_rows)
        return store.meta()
    finally:
        con.close()


def _customers(con) -> list[list[str]] | None:
    try:
        return customer_columns(con, f"{WAREHOUSE_ALIAS}.main.customers")
    except duckdb.Error:
        raise FeatureError("the warehouse has no customers table",
                           "create the warehouse with `ltv ingest`") from None


def _write_products(con, batch, batch_rows: int) -> None:
    reader = con.sql(f"""
        SELECT product_id, arg_max(category, {{'a': _ingest_id, 'b': _source_row}}) AS category
        FROM {WAREHOUSE_ALIAS}.main.products WHERE category IS NOT NULL
        GROUP BY product_id""").to_arrow_reader(batch_rows)
    for chunk in reader:
        data = chunk.to_pydict()
        batch.write_state(PRODUCTS, {p: c.encode() for p, c in
                                     zip(data["product_id"], data["category"])})
