"""Fixtures for the online store tests: a store per backend (the Redis server is the
session's own, from tests/conftest.py) and small warehouses built from hand-written rows."""

from __future__ import annotations

import uuid

import pandas as pd
import pytest

from ltv.warehouse import add_attribute_columns, connect

CUTOFF = "2024-03-01"


@pytest.fixture(params=["sqlite", "redis"])
def store_url(request, tmp_path):
    """A URL of a new, empty store for each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/online.db"
    base = request.getfixturevalue("redis_url")
    return f"{base}?prefix=t{uuid.uuid4().hex[:10]}"


@pytest.fixture
def store(store_url):
    from ltv.online import open_store

    s = open_store(store_url)
    yield s
    s.close()


def tx_frame(rows: list[tuple]) -> pd.DataFrame:
    """(customer_id, ts, amount[, order_id[, category[, quantity[, product_id]]]])."""
    cols = ["customer_id", "ts", "amount", "order_id", "category", "quantity", "product_id"]
    frame = pd.DataFrame([tuple(r) + (None,) * (7 - len(r)) for r in rows], columns=cols)
    frame["ts"] = pd.to_datetime(frame["ts"], format="ISO8601")
    frame["amount"] = frame["amount"].astype(float)
    frame["quantity"] = frame["quantity"].astype(float)
    return frame


def load(con, table: str, frame: pd.DataFrame | None, first_row: int = 0,
         ingest_id: int = 1) -> None:
    if frame is None or not len(frame):
        return
    frame = frame.copy()
    frame["_ingest_id"] = ingest_id
    frame["_source_row"] = range(first_row, first_row + len(frame))
    if table == "customers":
        known = {"customer_id", "signup_ts", "channel", "valid_from", "_ingest_id",
                 "_source_row"}
        add_attribute_columns(con, "customers", {c: "VARCHAR" if frame[c].dtype == object
                                                 or str(frame[c].dtype) == "str" else "DOUBLE"
                                                 for c in frame.columns if c not in known})
    con.register("_frame", frame)
    cols = ", ".join(f'"{c}"' for c in frame.columns)
    con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _frame")
    con.unregister("_frame")


def shop_tables() -> dict[str, pd.DataFrame]:
    """A small shop before CUTOFF: categories (some only via products), returns, quantities,
    several lines per order and per day, events, attributes with history and a signup."""
    tx = tx_frame([
        ("a", "2023-03-02 10:00", 30.0, "o1", "books", 1),
        ("a", "2023-03-02 10:00", 12.5, "o1", None, 2, "p-toy"),
        ("a", "2023-09-14 08:30", 99.99, "o2", "garden", 1),
        ("a", "2024-02-20 12:00", -12.5, "o3", None, -1, "p-toy"),
        ("a", "2024-02-27 18:00", 45.0, None, "books", 3),
        ("b", "2023-12-24 09:00", 250.0, "o4", "garden", 1),
        ("b", "2023-12-24 15:00", 10.0, "o5", "food", 5),
        ("c", "2024-01-05 09:00", -20.0, "o6", "books", -1),
        ("d", "2022-06-01 00:00", 5.0, None, None, None),
        ("d", "2024-02-29 23:59:59.999999", 7.25, "o7", "toys", 1),
    ])
    events = pd.DataFrame({
        "customer_id": ["a", "a", "b", "e", "e", "a"],
        "ts": pd.to_datetime(["2024-02-25 10:00", "2024-02-26 11:00", "2023-01-01 00:00",
                              "2024-02-10 09:00", "2024-02-10 09:05", "2021-01-01 00:00"]),
        "event_type": ["view", "cart", "view", "view", "purchase", "view"],
    })
    customers = pd.DataFrame({
        "customer_id": ["a", "a", "b", "f", "g"],
        "signup_ts": pd.to_datetime(["2023-01-01", "2023-01-01", None, "2023-06-01",
                                     "2024-05-01"]),
        "channel": ["ads", "ads", "organic", "email", "ads"],
        "valid_from": pd.to_datetime([None, "2024-01-01", None, None, None]),
        "tier": ["bronze", "gold", "silver", "bronze", None],
    })
    products = pd.DataFrame({"product_id": ["p-toy", "p-book"], "category": ["toys", "books"]})
    return {"transactions": tx, "events": events, "customers": customers,
            "products": products}


@pytest.fixture
def make_warehouse(tmp_path):
    """make_warehouse(tables, extra=None) -> path: a warehouse with `tables`, plus `extra`
    transactions/events appended as a later ingest (what the incremental tests compare to)."""
    counter = iter(range(1000))

    def make(tables: dict[str, pd.DataFrame], extra: dict[str, pd.DataFrame] | None = None):
        path = tmp_path / f"wh_{next(counter)}.duckdb"
        con = connect(path)
        try:
            for name, frame in tables.items():
                load(con, name, frame)
            for name, frame in (extra or {}).items():
                load(con, name, frame, ingest_id=2)
        finally:
            con.close()
        return path

    return make
