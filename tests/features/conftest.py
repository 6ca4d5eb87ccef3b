"""Fixtures for the feature tests: tiny warehouses built from hand-written rows.

Fixtures insert straight into `ltv.warehouse` tables (INSERT ... SELECT from a DataFrame), so
the tests depend on the warehouse contract only, not on `ltv.io`.
"""

from __future__ import annotations

import pandas as pd
import pytest

from ltv.warehouse import add_attribute_columns, connect

TYPES = {"VARCHAR": "object", "TIMESTAMP": "datetime64[us]", "DOUBLE": "float64"}


def tx_frame(rows: list[tuple]) -> pd.DataFrame:
    """Rows of (customer_id, ts, amount[, order_id[, category[, quantity[, product_id]]]])."""
    cols = ["customer_id", "ts", "amount", "order_id", "category", "quantity", "product_id"]
    width = max(len(r) for r in rows) if rows else 3
    frame = pd.DataFrame([tuple(r) + (None,) * (width - len(r)) for r in rows],
                         columns=cols[:width])
    frame["ts"] = pd.to_datetime(frame["ts"], format="ISO8601")
    frame["amount"] = frame["amount"].astype(float)
    return frame


def load(con, table: str, frame: pd.DataFrame) -> None:
    if frame is None or len(frame) == 0:
        return
    if table == "customers":
        known = {"customer_id", "signup_ts", "channel", "valid_from"}
        extra = {c: "VARCHAR" for c in frame.columns if c not in known}
        add_attribute_columns(con, "customers", extra)
    con.register("_frame", frame)
    cols = ", ".join(f'"{c}"' for c in frame.columns)
    con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _frame")
    con.unregister("_frame")


@pytest.fixture
def make_db(tmp_path):
    """make_db(transactions=rows or frame, events=frame, customers=frame, products=frame,
    name=...) -> path of a new warehouse file holding those rows."""
    counter = iter(range(10_000))

    def make(transactions=None, *, events=None, customers=None, products=None, name=None):
        path = tmp_path / f"{name or 'wh'}_{next(counter)}.duckdb"
        con = connect(path)
        try:
            if transactions is not None and not isinstance(transactions, pd.DataFrame):
                transactions = tx_frame(transactions)
            for table, frame in (("transactions", transactions), ("events", events),
                                 ("customers", customers), ("products", products)):
                load(con, table, frame)
        finally:
            con.close()
        return path

    return make


@pytest.fixture
def tx():
    return tx_frame
