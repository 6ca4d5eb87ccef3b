from ltv.warehouse import add_attribute_columns, connect, row_counts, table_columns


def test_fresh_warehouse_has_tables_and_utc(tmp_path):
    con = connect(tmp_path / "w.duckdb")
    assert row_counts(con) == {"transactions": 0, "events": 0, "customers": 0, "products": 0,
                               "quarantine": 0}
    assert con.execute("SELECT current_setting('TimeZone')").fetchone()[0] == "UTC"
    cols = table_columns(con, "transactions")
    assert cols[:3] == ["customer_id", "ts", "amount"] and cols[-2:] == ["_ingest_id", "_source_row"]


def test_reopen_keeps_data_and_attribute_columns(tmp_path):
    path = tmp_path / "w.duckdb"
    con = connect(path)
    add_attribute_columns(con, "customers", {"country": "VARCHAR"})
    con.execute("INSERT INTO customers (customer_id, country) VALUES ('a', 'UK')")
    add_attribute_columns(con, "customers", {"country": "VARCHAR"})  # idempotent
    con.close()
    con = connect(path, read_only=True)
    assert con.execute("SELECT customer_id, country FROM customers").fetchall() == [("a", "UK")]
