"""The PostgreSQL reader against a real server (started by the `postgres_dsn` fixture)."""

from __future__ import annotations

import pytest

from ltv.errors import IngestError
from ltv.io import PostgresQuery, ingest

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def orders_dsn(postgres_dsn):
    import psycopg

    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS orders")
        conn.execute("""CREATE TABLE orders (
            id serial PRIMARY KEY, customer text, ordered_at timestamptz, revenue numeric(10, 2),
            note text)""")
        rows = [("c1", "2024-01-01 10:00+00", "10.50", "ok"),
                ("c2", "2024-01-02 12:30+02", "20.00", "ok"),
                ("c1", "2024-01-03 09:00+00", "-5.25", "refund"),
                (None, "2024-01-04 09:00+00", "7.00", "guest")]
        rows += [(f"bulk{i % 40}", "2024-02-01 00:00+00", f"{i}.00", "bulk") for i in range(1, 121)]
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO orders (customer, ordered_at, revenue, note) "
                            "VALUES (%s, %s, %s, %s)", rows)
        conn.execute("DROP TABLE IF EXISTS raw_orders")
        conn.execute("CREATE TABLE raw_orders (customer text, day text, revenue text)")
        conn.execute("INSERT INTO raw_orders VALUES ('c1', '2024-01-01', '10'), "
                     "('c2', '2024-01-02', 'abc'), (NULL, '2024-01-03', '4')")
    return postgres_dsn


def test_query_is_streamed_in_batches_with_row_accounting(orders_dsn, db):
    query = PostgresQuery(orders_dsn, "SELECT customer, ordered_at, revenue FROM orders ORDER BY id",
                          batch_size=25)  # 124 rows -> 5 batches
    seen = []
    report = ingest(query, db=db, mapping={"customer": "customer", "ts": "ordered_at",
                                           "amount": "revenue"},
                    progress=lambda done, total, label: seen.append(done))
    t = report["transactions"]
    assert (t.rows_read, t.rows_kept, t.rows_quarantined) == (124, 123, 1)
    assert t.reasons == {"customer_id: missing (guest checkout or anonymous row)": 1}
    assert seen == [25, 50, 75, 100, 124]
    import duckdb

    con = duckdb.connect(str(db))
    rows = con.execute("SELECT customer_id, CAST(ts AS VARCHAR), amount, _source_row "
                       "FROM transactions ORDER BY _source_row LIMIT 3").fetchall()
    assert rows == [("c1", "2024-01-01 10:00:00", 10.5, 1),
                    ("c2", "2024-01-02 10:30:00", 20.0, 2),  # +02 offset -> UTC
                    ("c1", "2024-01-03 09:00:00", -5.25, 3)]
    guest = con.execute("SELECT source_row, record->>'revenue' FROM quarantine").fetchall()
    assert guest == [(4, "7.00")]


def test_bad_value_is_quarantined_and_reingest_is_skipped(orders_dsn, db):
    query = PostgresQuery(orders_dsn, "SELECT * FROM raw_orders")
    mapping = {"customer": "customer", "date": "day", "amount": "revenue"}
    report = ingest(query, db=db, mapping=mapping)
    t = report["transactions"]
    assert (t.rows_read, t.rows_kept, t.rows_quarantined) == (3, 1, 2)
    assert t.reasons == {"amount: not a number": 1,
                         "customer_id: missing (guest checkout or anonymous row)": 1}
    again = ingest(query, db=db, mapping=mapping)
    assert again.skipped and again["transactions"].rows_kept == 1


def test_password_is_not_shown_and_errors_are_clear(postgres_dsn, db):
    bad = PostgresQuery(postgres_dsn.replace("postgres@", "postgres:s3cret-pw@"),
                        "SELECT * FROM no_such_table")
    assert "s3cret-pw" not in repr(bad) and "s3cret-pw" not in bad.label
    with pytest.raises(IngestError) as err:
        ingest(bad, db=db)
    assert "no_such_table" in str(err.value) and "s3cret-pw" not in str(err.value)
    with pytest.raises(IngestError, match="cannot connect to PostgreSQL"):
        ingest(PostgresQuery("postgresql://postgres:s3cret-pw@127.0.0.1:1/x", "SELECT 1"), db=db)
