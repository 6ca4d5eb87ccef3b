"""Format adapters on small files in each public layout (the real files: test_real_datasets.py)."""

from __future__ import annotations

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ltv.errors import SchemaError
from ltv.io import ingest


def rows(db, sql):
    con = duckdb.connect(str(db))
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


UCI_CSV = """InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country
536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850.0,United Kingdom
536365,71053,WHITE METAL LANTERN,6,12/1/2010 8:26,3.39,17850.0,United Kingdom
C536379,D,Discount,-1,12/1/2010 9:41,27.5,14527.0,United Kingdom
536370,22728,ALARM CLOCK BAKELIKE PINK,24,6/1/2011 8:45,3.75,12583.0,France
536371,22086,PAPER CHAIN KIT,3,6/2/2011 9:00,2.95,,United Kingdom
536365,71053,WHITE METAL LANTERN,6,12/1/2010 8:26,3.39,17850.0,United Kingdom
536380,22961,JAM MAKING SET,12,7/1/2011 10:00,1.45,12583.0,Germany
"""


def test_uci_online_retail_csv_export(tmp_path, db):
    path = tmp_path / "Online Retail.csv"
    path.write_text(UCI_CSV)
    report = ingest(path, db=db, format="uci-online-retail")
    t, c = report["transactions"], report["customers"]
    assert (t.rows_read, t.rows_kept, t.rows_quarantined) == (7, 5, 2)
    assert t.reasons == {"customer_id: missing (guest checkout or anonymous row)": 1,
                         "duplicate: exact copy of an earlier row": 1}
    got = rows(db, "SELECT customer_id, CAST(ts AS VARCHAR), amount, quantity, order_id "
                   "FROM transactions ORDER BY _source_row")
    assert got == [
        ("17850", "2010-12-01 08:26:00", 15.3, 6.0, "536365"),  # GMT: UTC = local
        ("17850", "2010-12-01 08:26:00", 20.34, 6.0, "536365"),
        ("14527", "2010-12-01 09:41:00", -27.5, -1.0, "C536379"),  # cancellation: negative
        ("12583", "2011-06-01 07:45:00", 90.0, 24.0, "536370"),  # BST: UTC = local - 1h
        ("12583", "2011-07-01 09:00:00", 17.4, 12.0, "536380")]
    # Country is an attribute valid from the customer's first transaction in that country.
    assert (c.rows_read, c.rows_kept) == (4, 4)
    assert rows(db, "SELECT customer_id, country, CAST(valid_from AS VARCHAR) FROM customers "
                    "ORDER BY customer_id, valid_from") == [
        ("12583", "France", "2011-06-01 07:45:00"), ("12583", "Germany", "2011-07-01 09:00:00"),
        ("14527", "United Kingdom", "2010-12-01 09:41:00"),
        ("17850", "United Kingdom", "2010-12-01 08:26:00")]


def test_uci_online_retail_ii_column_names(db):
    frame = pd.DataFrame({"Invoice": ["489434", "C489449"], "StockCode": ["85048", "22087"],
                          "Description": ["a", "b"], "Quantity": [12, -12],
                          "InvoiceDate": pd.to_datetime(["2009-12-01 07:45", "2009-12-01 10:33"]),
                          "Price": [6.95, 2.95], "Customer ID": [13085.0, 16321.0],
                          "Country": ["United Kingdom", "Australia"]})
    report = ingest(frame, db=db, format="uci-online-retail")
    assert report["transactions"].rows_kept == 2
    assert rows(db, "SELECT customer_id, amount FROM transactions ORDER BY _source_row") == [
        ("13085", 83.4), ("16321", -35.4)]
    with pytest.raises(SchemaError, match="needs a UnitPrice or Price column"):
        ingest(frame.drop(columns=["Price"]), db=db, format="uci-online-retail")


def _complete_journey(folder):
    folder.mkdir()
    pq.write_table(pa.table({
        "household_id": [900, 900, 1228, 1228], "store_id": [330, 330, 406, 406],
        "basket_id": [31198570044, 31198570044, 31198655051, 31198655052],
        "product_id": [1095275, 9878513, 1095275, 1], "quantity": [2, 1, 3, 1],
        "sales_value": [1.98, 0.5, 2.97, 4.0], "retail_disc": [0.0, 0.1, 0.0, 0.0],
        "transaction_timestamp": pd.to_datetime(["2017-01-01 11:53:26", "2017-01-01 11:53:26",
                                                 "2017-01-01 12:26:30", "2017-01-02 09:00:00"]),
    }), folder / "transactions.parquet")
    pq.write_table(pa.table({
        "product_id": [1095275, 9878513], "manufacturer_id": [2, 69],
        "department": ["GROCERY", "PASTRY"], "brand": ["National", "Private"],
        "product_category": ["FRZN ICE", "BREAD"], "product_type": ["ICE", None],
        "package_size": ["22 LB", None]}), folder / "products.parquet")
    pq.write_table(pa.table({
        "household_id": [900], "age": ["65+"], "income": ["35-49K"], "household_size": ["2"]}),
        folder / "demographics.parquet")
    return folder


@pytest.mark.parametrize("entry", ["folder", "transactions.parquet"])
def test_complete_journey_reads_transactions_products_and_demographics(tmp_path, db, entry):
    folder = _complete_journey(tmp_path / "cj")
    report = ingest(folder if entry == "folder" else folder / entry, db=db,
                    format="complete-journey")
    assert [(t.table, t.rows_read, t.rows_kept) for t in report.tables] == [
        ("transactions", 4, 4), ("products", 2, 2), ("customers", 1, 1)]
    # sales_value is already the line total: not multiplied by quantity.
    assert rows(db, "SELECT customer_id, order_id, product_id, amount, quantity FROM transactions "
                    "ORDER BY _source_row LIMIT 1") == [("900", "31198570044", "1095275", 1.98, 2.0)]
    assert rows(db, "SELECT product_id, category, brand, product_category, manufacturer_id "
                    "FROM products ORDER BY 1") == [
        ("1095275", "GROCERY", "National", "FRZN ICE", "2"),
        ("9878513", "PASTRY", "Private", "BREAD", "69")]
    assert rows(db, "SELECT customer_id, valid_from, age, income FROM customers") == [
        ("900", None, "65+", "35-49K")]


def test_complete_journey_frame_and_wrong_file(tmp_path, db):
    folder = _complete_journey(tmp_path / "cj")
    frame = pq.read_table(folder / "transactions.parquet").to_pandas()
    assert ingest(frame, db=db, format="complete-journey")["transactions"].rows_kept == 4
    with pytest.raises(SchemaError, match="not a Complete Journey"):
        ingest(pd.DataFrame({"a": [1]}), db=db, format="complete-journey")


REES46_CSV = """event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session
2019-10-01 00:00:00 UTC,view,44600062,2103807459595387724,,shiseido,35.79,541312140,72d76fde
2019-10-01 00:00:01 UTC,cart,3900821,2053013552326770905,appliances.environment.water_heater,aqua,33.2,554748717,9333dfbd
2019-10-01 00:02:14 UTC,purchase,3900821,2053013552326770905,appliances.environment.water_heater,aqua,33.2,554748717,9333dfbd
2019-10-01 00:03:00 UTC,purchase,1307067,2053013558920217191,computers.notebook,lenovo,251.74,,7c90fc70
2019-10-01 00:04:00 UTC,view,1307067,2053013558920217191,computers.notebook,lenovo,-1,550050854,7c90fc70
"""


def test_rees46_events_and_purchases_have_their_own_accounting(tmp_path, db):
    path = tmp_path / "2019-Oct.csv"
    path.write_text(REES46_CSV)
    report = ingest(path, db=db, format="rees46")
    e, t = report["events"], report["transactions"]
    assert (e.rows_read, e.rows_kept, e.rows_quarantined) == (5, 3, 2)
    assert e.reasons == {"customer_id: missing (guest checkout or anonymous row)": 1,
                         "price: negative or not finite": 1}
    assert (t.rows_read, t.rows_kept, t.rows_quarantined) == (2, 1, 1)
    assert rows(db, "SELECT customer_id, CAST(ts AS VARCHAR), amount, order_id, category, "
                    "_source_row FROM transactions") == [
        ("554748717", "2019-10-01 00:02:14", 33.2, "9333dfbd",
         "appliances.environment.water_heater", 3)]
    assert rows(db, "SELECT event_type, category, session_id FROM events ORDER BY _source_row") == [
        ("view", None, "72d76fde"), ("cart", "appliances.environment.water_heater", "9333dfbd"),
        ("purchase", "appliances.environment.water_heater", "9333dfbd")]


@pytest.mark.parametrize("header", [False, True])
def test_taobao_headerless_events(tmp_path, db, header):
    path = tmp_path / "UserBehavior.csv"
    lines = ["1,2268318,2520377,pv,1511544070", "1,2333346,2520771,cart,1511561733",
             "1,2576651,149192,fav,1511572885", "2,3830808,4181361,buy,1511593493"]
    path.write_text("\n".join((["user_id,item_id,category_id,behavior,timestamp"] if header
                               else []) + lines) + "\n")
    report = ingest(path, db=db, format="taobao")
    assert report["events"].rows_kept == 4
    assert rows(db, "SELECT customer_id, product_id, category, event_type, CAST(ts AS VARCHAR) "
                    "FROM events ORDER BY _source_row") == [
        ("1", "2268318", "2520377", "view", "2017-11-24 17:21:10"),
        ("1", "2333346", "2520771", "cart", "2017-11-24 22:15:33"),
        ("1", "2576651", "149192", "fav", "2017-11-25 01:21:25"),
        ("2", "3830808", "4181361", "purchase", "2017-11-25 07:04:53")]
