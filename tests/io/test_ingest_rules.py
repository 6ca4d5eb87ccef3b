"""The real-data rules of ingestion, each on a small generated source."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from ltv.errors import IngestError, SchemaError
from ltv.io import ingest
from ltv.warehouse import connect, row_counts, table_columns


def rows(db, sql):
    con = duckdb.connect(str(db))
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def accounting_holds(report):
    return all(t.rows_read == t.rows_kept + t.rows_quarantined for t in report.tables)


def test_amount_is_quantity_times_unit_price_and_returns_stay_negative(db):
    frame = pd.DataFrame({
        "CustomerID": ["c1", "c1", "c2"],
        "InvoiceDate": ["2024-01-01 10:00", "2024-01-02 10:00", "2024-01-03 10:00"],
        "qty": [6, -2, 3],
        "price": [2.55, 2.55, 1.0],
    })
    report = ingest(frame, db=db, mapping={"customer": "CustomerID", "ts": "InvoiceDate",
                                           "quantity": "qty", "unit_price": "price"})
    assert accounting_holds(report) and report["transactions"].rows_kept == 3
    assert rows(db, "SELECT customer_id, amount, quantity FROM transactions ORDER BY _source_row") == [
        ("c1", 15.3, 6.0), ("c1", -5.1, -2.0), ("c2", 3.0, 3.0)]


def test_rows_without_customer_are_quarantined_and_counted(db):
    frame = pd.DataFrame({"customer_id": ["a", None, "  ", "b"],
                          "ts": ["2024-01-01"] * 4, "amount": [1, 2, 3, 4]})
    t = ingest(frame, db=db)["transactions"]
    assert (t.rows_read, t.rows_kept, t.rows_quarantined) == (4, 2, 2)
    assert t.reasons == {"customer_id: missing (guest checkout or anonymous row)": 2}
    assert rows(db, "SELECT source_row FROM quarantine ORDER BY 1") == [(2,), (3,)]
    assert rows(db, "SELECT count(*) FROM transactions WHERE customer_id IS NULL") == [(0,)]


def test_bad_values_are_quarantined_with_the_value_in_the_reason(db):
    frame = pd.DataFrame({"customer_id": ["a", "b", "c", "d"],
                          "ts": ["2024-01-01", "not a date", "2024-01-03", "2024-01-04"],
                          "amount": ["1", "2", "abc", "inf"]})
    t = ingest(frame, db=db)["transactions"]
    assert (t.rows_read, t.rows_kept, t.rows_quarantined) == (4, 1, 3)
    assert rows(db, "SELECT source_row, reason FROM quarantine ORDER BY 1") == [
        (2, "ts: not a timestamp ('not a date')"),
        (3, "amount: not a number ('abc')"),
        (4, "amount: missing or not a finite number")]
    record = rows(db, "SELECT record->>'amount', record->>'customer_id' FROM quarantine "
                      "WHERE source_row = 3")
    assert record == [("abc", "c")]


def test_timestamps_with_format_and_zone_are_stored_as_utc(db):
    frame = pd.DataFrame({"customer_id": ["a", "b", "c"],
                          "ts": ["01/07/2024 12:00", "15/01/2024 12:00", "31/03/2024 01:30"],
                          "amount": [1, 2, 3]})
    ingest(frame, db=db, ts_format="%d/%m/%Y %H:%M", timezone="Europe/London")
    assert rows(db, "SELECT CAST(ts AS VARCHAR) FROM transactions ORDER BY _source_row") == [
        ("2024-07-01 11:00:00",),  # BST = UTC+1
        ("2024-01-15 12:00:00",),  # GMT = UTC
        ("2024-03-31 01:30:00",)]  # the clocks went forward at 01:00 GMT that night


def test_explicit_offsets_win_over_the_zone_and_epoch_times_work(db, tmp_path):
    frame = pd.DataFrame({"customer_id": ["a", "b", "c", "d"],
                          "ts": ["2024-01-01 10:00:00+02:00", "2024-01-01T10:00:00Z",
                                 "2024-01-01 10:00:00 UTC", "2024-01-01 10:00:00"],
                          "amount": [1, 2, 3, 4]})
    ingest(frame, db=db, timezone="America/New_York")
    assert rows(db, "SELECT CAST(ts AS VARCHAR) FROM transactions ORDER BY _source_row") == [
        ("2024-01-01 08:00:00",), ("2024-01-01 10:00:00",), ("2024-01-01 10:00:00",),
        ("2024-01-01 15:00:00",)]
    epoch = pd.DataFrame({"customer_id": ["e"], "ts": [1704103200], "amount": [1]})
    ingest(epoch, db=tmp_path / "e.duckdb", ts_format="epoch")
    assert rows(tmp_path / "e.duckdb", "SELECT CAST(ts AS VARCHAR) FROM transactions") == [
        ("2024-01-01 10:00:00",)]


def test_exact_duplicates_are_quarantined_or_kept(db, tmp_path):
    frame = pd.DataFrame({"customer_id": ["a", "b", "a", "a"],
                          "ts": ["2024-01-01", "2024-01-01", "2024-01-01", "2024-01-01"],
                          "amount": [1, 1, 1, 1]})
    t = ingest(frame, db=db)["transactions"]
    assert (t.rows_kept, t.rows_quarantined) == (2, 2)
    assert t.reasons == {"duplicate: exact copy of an earlier row": 2}
    assert rows(db, "SELECT source_row, reason FROM quarantine ORDER BY 1") == [
        (3, "duplicate: exact copy of row 1"), (4, "duplicate: exact copy of row 1")]
    kept = ingest(frame, db=tmp_path / "keep.duckdb", duplicates="keep")["transactions"]
    assert (kept.rows_kept, kept.rows_quarantined) == (4, 0)
    with pytest.raises(IngestError, match="duplicates policy"):
        ingest(frame, db=db, duplicates="drop")


def test_reingesting_the_same_file_is_skipped(db, tmp_path):
    path = tmp_path / "tx.csv"
    pd.DataFrame({"customer_id": ["a", "b"], "ts": ["2024-01-01", "2024-01-02"],
                  "amount": [1, 2]}).to_csv(path, index=False)
    first = ingest(path, db=db)
    again = ingest(path, db=db)
    assert not first.skipped and again.skipped
    assert again["transactions"].rows_kept == 2 and "already ingested" in str(again)
    assert rows(db, "SELECT count(*) FROM transactions") == [(2,)]
    assert rows(db, "SELECT count(*) FROM ingests") == [(1,)]
    # Other options make another ingest; its rows are then duplicates of the existing ones.
    other = ingest(path, db=db, timezone="UTC", duplicates="quarantine", ts_format="%Y-%m-%d")
    assert not other.skipped
    assert other["transactions"].reasons == {
        "duplicate: identical to a row already in the warehouse": 2}


def test_rows_already_in_the_warehouse_from_another_source_are_duplicates(db):
    one = pd.DataFrame({"customer_id": ["a", "b"], "ts": ["2024-01-01", "2024-01-02"],
                        "amount": [1.0, 2.0]})
    two = pd.DataFrame({"customer_id": ["b", "c"], "ts": ["2024-01-02", "2024-01-03"],
                        "amount": [2.0, 3.0], "note": ["x", "y"]})  # extra column is dropped
    ingest(one, db=db)
    t = ingest(two, db=db)["transactions"]
    assert (t.rows_kept, t.rows_quarantined) == (1, 1)
    assert rows(db, "SELECT reason FROM quarantine") == [
        ("duplicate: identical to a row already in the warehouse (ingest 1, row 2)",)]


def test_column_where_nothing_converts_fails_and_leaves_the_warehouse_unchanged(db):
    ingest(pd.DataFrame({"customer_id": ["a"], "ts": ["2024-01-01"], "amount": [1]}), db=db)
    con = connect(db)
    before = (row_counts(con), con.execute("SELECT count(*) FROM ingests").fetchone())
    con.close()
    bad = pd.DataFrame({"customer_id": ["x", "y"], "ts": ["2024-01-01", "2024-01-02"],
                        "Revenue": ["abc", "n/a"]})
    with pytest.raises(SchemaError) as err:
        ingest(bad, db=db, mapping={"amount": "Revenue"})
    message = str(err.value)
    assert "column 'Revenue'" in message and "no value converts to a number" in message
    assert "'abc'" in message and "fix:" in message
    with pytest.raises(SchemaError, match="format '%d/%m/%Y'"):
        ingest(pd.DataFrame({"customer_id": ["x"], "ts": ["2024-01-01"], "amount": [1]}),
               db=db, ts_format="%d/%m/%Y")
    con = connect(db)
    assert (row_counts(con), con.execute("SELECT count(*) FROM ingests").fetchone()) == before
    con.close()


def test_failed_ingest_rolls_back_new_attribute_columns(db, tmp_path):
    path = tmp_path / "customers.csv"
    path.write_text("customer_id,signup_ts,tier\na,2024-01-01,gold\nb,garbage,silver\n"
                    "c,2024-01-03,bronze\n")
    with pytest.raises(SchemaError):
        ingest(path, db=db, table="customers", ts_format="%d.%m.%Y")
    con = connect(db)
    assert "tier" not in table_columns(con, "customers")
    con.close()
    report = ingest(path, db=db, table="customers")
    assert report["customers"].reasons == {"signup_ts: not a timestamp": 1}
    assert rows(db, "SELECT customer_id, tier FROM customers ORDER BY 1") == [
        ("a", "gold"), ("c", "bronze")]


def test_missing_required_column_and_unknown_format_fail_clearly(db):
    frame = pd.DataFrame({"CustomerID": ["a"], "InvoiceDate": ["2024-01-01"]})
    with pytest.raises(SchemaError) as err:
        ingest(frame, db=db, mapping={"customer": "CustomerID", "ts": "InvoiceDate"})
    assert "column 'amount'" in str(err.value) and "--map amount=" in str(err.value)
    with pytest.raises(SchemaError, match="no such column"):
        ingest(frame, db=db, mapping={"customer": "CustomerId2", "ts": "InvoiceDate"})
    with pytest.raises(SchemaError, match="unknown target 'spend'"):
        ingest(frame, db=db, mapping={"spend": "CustomerID"})
    with pytest.raises(IngestError, match="unknown format 'excel'") as err:
        ingest(frame, db=db, format="excel")
    assert "uci-online-retail" in str(err.value)
    with pytest.raises(IngestError, match="unknown time zone"):
        ingest(frame, db=db, timezone="Mars/Olympus")
    with pytest.raises(IngestError, match="cannot ingest into table 'features'"):
        ingest(frame, db=db, table="features")


def test_mapping_aliases_constants_and_progress(db):
    frame = pd.DataFrame({"cust": [1, 2, 2], "date": ["2006-01-01", "2006-01-01", "2006-02-03"]})
    seen = []
    report = ingest(frame, db=db, table="events",
                    mapping={"customer": "cust", "date": "date", "event_type": "'purchase'"},
                    progress=lambda done, total, label: seen.append((done, total)))
    assert report["events"].rows_kept == 3 and seen == [(3, 3)]
    assert rows(db, "SELECT customer_id, event_type FROM events ORDER BY _source_row") == [
        ("1", "purchase"), ("2", "purchase"), ("2", "purchase")]
    with pytest.raises(SchemaError, match="event_type='purchase'"):
        ingest(frame, db=db, table="events", mapping={"customer": "cust", "ts": "date"})


def test_report_string_is_readable(db):
    frame = pd.DataFrame({"customer_id": ["a", None], "ts": ["2024-01-01"] * 2, "amount": [1, 2]})
    text = str(ingest(frame, db=db))
    assert "transactions" in text and "1 kept" in text and "customer_id: missing" in text


def test_attribute_values_that_do_not_fit_an_existing_column_are_quarantined(db):
    ingest(pd.DataFrame({"customer_id": ["a"], "visits": [3]}), db=db, table="customers")
    t = ingest(pd.DataFrame({"customer_id": ["b", "c"], "visits": ["4", "many"]}), db=db,
               table="customers")["customers"]
    assert (t.rows_kept, t.rows_quarantined) == (1, 1)
    assert rows(db, "SELECT reason FROM quarantine") == [
        ("visits: not a BIGINT like the existing column ('many')",)]
    assert rows(db, "SELECT customer_id, visits FROM customers ORDER BY 1") == [("a", 3), ("b", 4)]


def test_a_column_map_is_refused_for_known_layouts(db):
    with pytest.raises(IngestError, match="only applies to --format canonical"):
        ingest(pd.DataFrame({"a": [1]}), db=db, format="rees46", mapping={"customer": "a"})


def test_an_open_connection_can_be_the_warehouse(con):
    frame = pd.DataFrame({"customer_id": ["a"], "ts": ["2024-01-01"], "amount": [1]})
    assert ingest(frame, db=con)["transactions"].rows_kept == 1
    assert con.execute("SELECT count(*) FROM transactions").fetchone()[0] == 1
    con.execute("BEGIN TRANSACTION")
    with pytest.raises(IngestError, match="inside an open transaction"):
        ingest(frame.assign(amount=[2]), db=con)
    con.execute("ROLLBACK")
