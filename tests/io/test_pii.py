"""PII columns are HMAC-hashed before staging: nothing raw reaches the file, quarantine or errors."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from ltv.errors import ConfigError, IngestError, SchemaError
from ltv.io import ingest
from ltv.io.pii import hashed_sql, hmac_hex, install_hmac
from ltv.warehouse import connect, row_counts

EMAILS = ["ada.lovelace@example.org", "grace.hopper@example.net", "linus@example.com"]
PHONES = ["+44 20 7946 0958", "+1-202-555-0143", "+49 30 901820"]
NAMES = ["Ada Lovelace", "Grace Hopper", "Linus Torvalds"]
IDS = ["cust-ada-815", "cust-grace-1906", "cust-linus-1969"]
# Not PII: these must be found in the file, which shows the byte search can see stored strings.
CONTROL = ["control-note-analytical-engine", "control-note-cobol-compiler", "control-note-kernel"]


@pytest.mark.parametrize("key", [b"k" * 16, b"a-much-longer-key-" * 8, "clé-ünïcode-0123".encode()])
def test_sql_hmac_equals_python_hmac(key):
    con = duckdb.connect()
    install_hmac(con, key)
    values = ["17850", "ada.lovelace@example.org", "Zoë Ünïcødé", "x" * 200, "  padded  "]
    got = [con.execute(f"SELECT {hashed_sql('?')}", [v]).fetchone()[0] for v in values]
    assert got == [hmac_hex(key, v.strip()) for v in values]
    assert con.execute(f"SELECT {hashed_sql('NULL')}").fetchone()[0] is None
    assert con.execute(f"SELECT {hashed_sql('17850.0::DOUBLE')}").fetchone()[0] == hmac_hex(key, "17850")


def _write_sources(tmp_path):
    customers = tmp_path / "customers.csv"
    pd.DataFrame({"customer_id": IDS, "email": EMAILS, "phone": PHONES, "name": NAMES,
                  "note": CONTROL}).to_csv(customers, index=False)
    transactions = tmp_path / "tx.csv"
    pd.DataFrame({"customer_id": IDS + [IDS[0], ""],
                  "ts": ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"],
                  "amount": ["10", "20", "oops", "5", "7"],
                  "email": EMAILS + [EMAILS[0], EMAILS[1]]}).to_csv(transactions, index=False)
    return customers, transactions


def test_raw_pii_never_reaches_the_warehouse_file(tmp_path, db, pii_key):
    customers, transactions = _write_sources(tmp_path)
    pii = ["customer_id", "email", "phone", "name"]
    c = ingest(customers, db=db, table="customers", pii=pii)["customers"]
    t = ingest(transactions, db=db, pii=["customer_id", "email"])["transactions"]
    assert (c.rows_kept, t.rows_kept, t.rows_quarantined) == (3, 3, 2)  # 'oops' and no customer
    con = connect(db)
    key = pii_key.encode()
    assert con.execute("SELECT email, name FROM customers ORDER BY _source_row LIMIT 1"
                       ).fetchone() == (hmac_hex(key, EMAILS[0]), hmac_hex(key, NAMES[0]))
    # The same person hashes the same way in both tables, so joins still work.
    joined = con.execute("SELECT count(*) FROM transactions t JOIN customers c USING (customer_id)"
                         ).fetchone()[0]
    assert joined == 3
    records = " ".join(r[0] for r in con.execute("SELECT CAST(record AS VARCHAR) FROM quarantine"
                                                 ).fetchall())
    assert hmac_hex(key, EMAILS[2]) in records and "oops" in records
    con.execute("CHECKPOINT")
    con.close()
    raw = db.read_bytes()
    wal = db.with_name(db.name + ".wal")
    raw += wal.read_bytes() if wal.exists() else b""
    for value in CONTROL:
        assert value.encode() in raw, "the byte search cannot see stored strings"
    for value in EMAILS + PHONES + NAMES + IDS:
        assert value.encode() not in raw, f"raw PII {value!r} found in the warehouse file"


def test_pii_by_canonical_name_hashes_the_source_column(tmp_path, db, pii_key):
    frame = pd.DataFrame({"CustomerID": [17850.0, 13047.0], "InvoiceDate": ["2024-01-01"] * 2,
                          "Revenue": [1.0, 2.0]})
    ingest(frame, db=db, mapping={"customer": "CustomerID", "ts": "InvoiceDate",
                                  "amount": "Revenue"}, pii=["customer_id"])
    con = connect(db)
    ids = [r[0] for r in con.execute(
        "SELECT customer_id FROM transactions ORDER BY _source_row").fetchall()]
    assert ids == [hmac_hex(pii_key.encode(), "17850"), hmac_hex(pii_key.encode(), "13047")]


def test_errors_never_show_raw_pii(tmp_path, db, pii_key):
    frame = pd.DataFrame({"customer_id": ["a", "b"], "ts": ["2024-01-01"] * 2,
                          "amount": ["ada.lovelace@example.org", "grace.hopper@example.net"]})
    with pytest.raises(SchemaError) as err:  # hashed amounts cannot convert: the column fails
        ingest(frame, db=db, pii=["amount"])
    assert "no value converts" in str(err.value)
    assert "ada.lovelace" not in str(err.value) and "grace.hopper" not in str(err.value)
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("customer_id,ts,amount,email\na,2024-01-01,1,x@example.org\n"
                      "b,2024-01-02,2,ada.lovelace@example.org,extra,more\n")
    with pytest.raises(IngestError) as err:
        ingest(ragged, db=db, pii=["email"])
    assert "ada.lovelace" not in str(err.value)
    assert row_counts(connect(db))["quarantine"] == 0


def test_key_is_required_and_checked_only_when_pii_is_declared(db, monkeypatch):
    monkeypatch.delenv("LTV_PII_KEY", raising=False)
    frame = pd.DataFrame({"customer_id": ["a"], "ts": ["2024-01-01"], "amount": [1],
                          "email": ["x@example.org"]})
    with pytest.raises(ConfigError, match="LTV_PII_KEY"):
        ingest(frame, db=db, pii=["email"])
    with pytest.raises(ConfigError, match="too short"):
        ingest(frame, db=db, pii=["email"], pii_key="short")
    with pytest.raises(ConfigError):
        ingest(frame, db=db, pii=["email"], pii_key="changeme")
    assert ingest(frame, db=db)["transactions"].rows_kept == 1  # no PII declared: no key needed


def test_misspelt_pii_column_refuses_to_ingest(db, pii_key):
    frame = pd.DataFrame({"customer_id": ["a"], "ts": ["2024-01-01"], "amount": [1],
                          "email": ["x@example.org"]})
    with pytest.raises(SchemaError, match="declared as PII is not in the source") as err:
        ingest(frame, db=db, pii=["emial"])
    assert "column 'emial'" in str(err.value)
    assert row_counts(connect(db))["transactions"] == 0


def test_another_key_is_another_ingest(tmp_path, db):
    path = tmp_path / "tx.csv"
    pd.DataFrame({"customer_id": ["a"], "ts": ["2024-01-01"], "amount": [1]}).to_csv(path, index=False)
    first = ingest(path, db=db, pii=["customer_id"], pii_key="first-key-0123456789")
    assert ingest(path, db=db, pii=["customer_id"], pii_key="first-key-0123456789").skipped
    second = ingest(path, db=db, pii=["customer_id"], pii_key="second-key-0123456789")
    assert not first.skipped and not second.skipped


def test_headerless_file_does_not_leak_its_first_row_in_errors(tmp_path, db, pii_key):
    path = tmp_path / "no_header.csv"
    path.write_text("ada.lovelace@example.org,+44 20 7946 0958,2024-01-01,3\n"
                    "grace.hopper@example.net,+1-202-555-0143,2024-01-02,4\n")
    with pytest.raises(SchemaError) as err:
        ingest(path, db=db, pii=["email"])
    assert "ada.lovelace" not in str(err.value) and "7946" not in str(err.value)
    assert "<hidden>" in str(err.value)
