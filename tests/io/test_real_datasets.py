"""Every real dataset in ../shared/datasets ingests with exact row accounting and known facts.

Skipped when the folder is absent (a fresh clone). Each dataset is ingested once per session
into its own warehouse; the tests then query it.
"""

from __future__ import annotations

import duckdb
import pytest

from ltv.io import ingest
from ltv.schema import sql_string

pytestmark = pytest.mark.realdata


def accounting_holds(report):
    return all(t.rows_read == t.rows_kept + t.rows_quarantined for t in report.tables) and all(
        sum(t.reasons.values()) == t.rows_quarantined for t in report.tables)


def ingested(tmp_path_factory, source, **options):
    db = tmp_path_factory.mktemp("real") / "ltv.duckdb"
    report = ingest(source, db=db, **options)
    con = duckdb.connect(str(db))
    return report, con, db


@pytest.fixture(scope="session")
def online_retail(datasets, tmp_path_factory):
    path = datasets / "online_retail" / "online_retail.parquet"
    report, con, db = ingested(tmp_path_factory, path, format="uci-online-retail")
    yield path, report, con, db
    con.close()


@pytest.fixture(scope="session")
def complete_journey(datasets, tmp_path_factory):
    path = datasets / "complete_journey"
    report, con, _ = ingested(tmp_path_factory, path, format="complete-journey")
    yield path, report, con
    con.close()


def test_online_retail(online_retail):
    path, report, con, db = online_retail
    t, c = report["transactions"], report["customers"]
    assert accounting_holds(report)
    assert (t.rows_read, t.rows_kept, t.rows_quarantined) == (541_909, 401_604, 140_305)
    assert t.reasons == {"customer_id: missing (guest checkout or anonymous row)": 135_080,
                         "duplicate: exact copy of an earlier row": 5_225}
    facts = con.execute(
        "SELECT count(DISTINCT customer_id), count(*) FILTER (WHERE order_id LIKE 'C%'), "
        "bool_and(amount < 0) FILTER (WHERE order_id LIKE 'C%'), "
        "count(*) FILTER (WHERE customer_id LIKE '%.%'), CAST(min(ts) AS VARCHAR), "
        "CAST(max(ts) AS VARCHAR) FROM transactions").fetchone()
    assert facts == (4_372, 8_872, True, 0, "2010-12-01 08:26:00", "2011-12-09 12:50:00")
    # amount = Quantity x UnitPrice, over the same rows (distinct lines with a customer).
    expected = duckdb.execute(
        f"SELECT sum(Quantity * UnitPrice) FROM (SELECT DISTINCT * FROM "
        f"read_parquet({sql_string(str(path))}) WHERE CustomerID IS NOT NULL)").fetchone()[0]
    assert con.execute("SELECT sum(amount) FROM transactions").fetchone()[0] == pytest.approx(expected)
    # UK local time -> UTC: a summer (BST) line is stored one hour earlier.
    assert con.execute("SELECT CAST(ts AS VARCHAR) FROM transactions WHERE _source_row = 300000"
                       ).fetchone()[0] == "2011-08-12 14:22:00"  # 15:22 BST in the file
    # Country: one attribute row per (customer, country), 8 customers appear in two countries.
    assert (c.rows_read, c.rows_kept) == (4_380, 4_380)
    assert con.execute("SELECT count(DISTINCT customer_id), count(country) FROM customers"
                       ).fetchone() == (4_372, 4_380)


def test_online_retail_reingest_is_skipped(online_retail):
    path, report, con, db = online_retail
    again = ingest(path, db=db, format="uci-online-retail")  # same process: shares the file
    assert again.skipped and again["transactions"].rows_kept == 401_604
    assert con.execute("SELECT count(*) FROM transactions").fetchone()[0] == 401_604


def test_complete_journey_with_products_and_demographics(complete_journey):
    path, report, con = complete_journey
    assert accounting_holds(report)
    assert [(t.table, t.rows_read, t.rows_kept, t.rows_quarantined) for t in report.tables] == [
        ("transactions", 1_469_307, 1_469_307, 0), ("products", 92_331, 92_331, 0),
        ("customers", 801, 801, 0)]
    assert con.execute("SELECT count(DISTINCT customer_id) FROM transactions").fetchone()[0] == 2_469
    expected = duckdb.execute(f"SELECT sum(sales_value) FROM read_parquet("
                              f"{sql_string(str(path / 'transactions.parquet'))})").fetchone()[0]
    assert con.execute("SELECT sum(amount) FROM transactions").fetchone()[0] == pytest.approx(expected)
    # Product ids match across the two files as they do in the raw data (4,836 lines' products
    # are missing from products.parquet as published).
    raw_matches = duckdb.execute(
        f"SELECT count(*) FROM read_parquet({sql_string(str(path / 'transactions.parquet'))}) t "
        f"JOIN read_parquet({sql_string(str(path / 'products.parquet'))}) p USING (product_id)"
    ).fetchone()[0]
    assert raw_matches == 1_464_471
    assert con.execute("SELECT count(*) FROM transactions t JOIN products p USING (product_id)"
                       ).fetchone()[0] == raw_matches
    assert con.execute("SELECT count(*) FROM customers WHERE income IS NOT NULL").fetchone()[0] > 0


def test_rees46_sample(datasets, tmp_path_factory):
    report, con, _ = ingested(tmp_path_factory, datasets / "rees46_sample" /
                              "events_2019-10-01_head.csv", format="rees46")
    e, t = report["events"], report["transactions"]
    assert accounting_holds(report)
    assert (e.rows_read, e.rows_kept, e.rows_quarantined) == (17_434, 17_429, 5)
    assert e.reasons == {"duplicate: exact copy of an earlier row": 5}
    assert (t.rows_read, t.rows_kept, t.rows_quarantined) == (214, 214, 0)
    assert dict(con.execute("SELECT event_type, count(*) FROM events GROUP BY 1").fetchall()) == {
        "view": 17_051, "cart": 164, "purchase": 214}
    assert con.execute("SELECT count(DISTINCT customer_id), CAST(min(ts) AS VARCHAR), "
                       "CAST(max(ts) AS VARCHAR) FROM events").fetchone() == (
        4_504, "2019-10-01 00:00:00", "2019-10-01 02:50:00")


def test_taobao_sample(datasets, tmp_path_factory):
    report, con, _ = ingested(tmp_path_factory, datasets / "taobao_sample" /
                              "user_behavior_head.csv", format="taobao")
    assert accounting_holds(report)
    e = report["events"]
    assert (e.rows_read, e.rows_kept, e.rows_quarantined) == (4_321, 4_321, 0)
    assert dict(con.execute("SELECT event_type, count(*) FROM events GROUP BY 1").fetchall()) == {
        "view": 3_926, "cart": 190, "fav": 128, "purchase": 77}
    assert con.execute("SELECT count(DISTINCT customer_id) FROM events").fetchone()[0] == 43


def test_grocery_elog_as_purchase_events(datasets, tmp_path_factory):
    # No amounts: each row is a purchase occasion, so it is a purchase *event* (counts and
    # timing for BTYD models), not a transaction with an invented amount.
    report, con, _ = ingested(tmp_path_factory, datasets / "grocery_elog" / "grocery_elog.csv",
                              table="events",
                              mapping={"customer": "cust", "ts": "date", "event_type": "'purchase'"})
    assert accounting_holds(report)
    e = report["events"]
    assert (e.rows_read, e.rows_kept, e.rows_quarantined) == (10_483, 10_483, 0)
    assert con.execute("SELECT count(DISTINCT customer_id), CAST(min(ts) AS VARCHAR), "
                       "CAST(max(ts) AS VARCHAR), count(DISTINCT event_type) FROM events"
                       ).fetchone() == (1_525, "2006-01-01 00:00:00", "2007-12-30 00:00:00", 1)


def test_grocery_elog_as_transactions_fails_clearly(datasets, tmp_path_factory):
    db = tmp_path_factory.mktemp("real") / "ltv.duckdb"
    from ltv.errors import SchemaError

    with pytest.raises(SchemaError, match="column 'amount': required column missing"):
        ingest(datasets / "grocery_elog" / "grocery_elog.csv", db=db,
               mapping={"customer": "cust", "ts": "date"})
