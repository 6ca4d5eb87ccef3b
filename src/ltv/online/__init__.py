"""The online feature store: the latest features per customer, for serving.

    store = open_store("sqlite:///online.db")          # or "redis://127.0.0.1:6379/0"
    materialize("shop.duckdb", "2024-06-01", store)    # `ltv materialize`
    store.get_frame(["c1", "c2"])                      # what a model's predict takes
    apply_transactions(store, "c1", rows, as_of=now)   # POST /v1/events

`base` holds the interface and what every backend shares; one file per backend; `codec`
turns feature rows into bytes; `history` and `incremental` keep the per-customer state that
lets an event update a customer's features exactly as a full recompute would.
"""

from __future__ import annotations

from ltv.online.base import OnlineStore, OnlineStoreError, StoreMeta

SCHEMES = "sqlite:///path/to/online.db or redis://host:port/db"


def open_store(url: str) -> OnlineStore:
    """The store a URL names: `sqlite:///relative.db`, `sqlite:////abs/path.db`, or
    `redis://host:port/db` (optionally `?prefix=name`)."""
    text = str(url)
    if text.startswith("sqlite:///"):
        from ltv.online.sqlite_store import SQLiteStore

        return SQLiteStore(text)
    if text.startswith("redis://"):
        from ltv.online.redis_store import RedisStore

        return RedisStore(text)
    raise OnlineStoreError(f"unknown online store URL {text!r}", f"use {SCHEMES}")


def __getattr__(name: str):
    # the heavy parts (DuckDB, build_features) load only when asked for
    if name == "materialize":
        from ltv.online.materialization import materialize

        return materialize
    if name in ("apply_transactions", "apply_events", "apply_rows"):
        from ltv.online import incremental

        return getattr(incremental, name)
    raise AttributeError(name)


__all__ = ["OnlineStore", "OnlineStoreError", "StoreMeta", "apply_events", "apply_rows",
           "apply_transactions", "materialize", "open_store"]
