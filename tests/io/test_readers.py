"""Reading files and frames: source row numbers, file types, and clear errors for bad files."""

from __future__ import annotations

import gzip

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ltv.errors import IngestError
from ltv.io import ingest
from ltv.warehouse import row_counts

ROWS = [
    {"customer_id": "a", "ts": "2024-01-01 10:00:00", "amount": "10"},
    {"customer_id": "b", "ts": "2024-01-02 11:00:00", "amount": "abc"},
    {"customer_id": "", "ts": "2024-01-03 12:00:00", "amount": "5"},
    {"customer_id": "c", "ts": "2024-01-04 13:00:00", "amount": "7.5"},
]


def _kept_and_quarantined(db):
    con = duckdb.connect(str(db))
    kept = con.execute("SELECT _source_row, customer_id FROM transactions ORDER BY 1").fetchall()
    bad = con.execute("SELECT source_row, reason FROM quarantine ORDER BY 1").fetchall()
    con.close()
    return kept, bad


EXPECTED_KEPT = [(1, "a"), (4, "c")]
EXPECTED_BAD = [(2, "amount: not a number ('abc')"),
                (3, "customer_id: missing (guest checkout or anonymous row)")]


@pytest.mark.parametrize("kind", ["csv", "csv.gz", "tsv", "parquet", "jsonl", "frame", "arrow"])
def test_every_reader_numbers_rows_from_one(kind, tmp_path, db):
    frame = pd.DataFrame(ROWS)
    path = tmp_path / f"tx.{kind}"
    if kind == "csv":
        frame.to_csv(path, index=False)
    elif kind == "csv.gz":
        with gzip.open(path, "wt") as fh:
            frame.to_csv(fh, index=False)
    elif kind == "tsv":
        frame.to_csv(path, index=False, sep="\t")
    elif kind == "parquet":
        pq.write_table(pa.Table.from_pandas(frame), path)
    elif kind == "jsonl":
        frame.to_json(path, orient="records", lines=True)
    source = {"frame": frame, "arrow": pa.Table.from_pandas(frame)}.get(kind, path)
    report = ingest(source, db=db)
    t = report["transactions"]
    assert (t.rows_read, t.rows_kept, t.rows_quarantined) == (4, 2, 2)
    assert _kept_and_quarantined(db) == (EXPECTED_KEPT, EXPECTED_BAD)


def test_source_rows_follow_file_order_across_many_batches(tmp_path, db):
    # 250k rows span several streamed batches and DuckDB threads; row N must be record N.
    n = 250_000
    path = tmp_path / "big.csv"
    duckdb.execute(f"COPY (SELECT 'c' || (range % 97) AS customer_id, "
                   f"TIMESTAMP '2024-01-01' + to_seconds(range) AS ts, range + 1 AS amount "
                   f"FROM range({n})) TO '{path}' (HEADER)")
    report = ingest(path, db=db)
    assert report["transactions"].rows_kept == n
    con = duckdb.connect(str(db))
    mismatched = con.execute("SELECT count(*) FROM transactions WHERE amount <> _source_row"
                             ).fetchone()[0]
    assert mismatched == 0


def test_json_lines_tolerate_mixed_value_types(tmp_path, db):
    path = tmp_path / "tx.ndjson"
    path.write_text('{"customer_id": "a", "ts": "2024-01-01", "amount": 3}\n'
                    '{"customer_id": 17, "ts": "2024-01-02", "amount": "n/a"}\n'
                    '{"customer_id": "b", "ts": "2024-01-03", "amount": 4.5, "extra": {"x": 1}}\n')
    t = ingest(path, db=db)["transactions"]
    assert (t.rows_read, t.rows_kept, t.rows_quarantined) == (3, 2, 1)
    assert t.reasons == {"amount: not a number": 1}


def test_latin1_csv_is_read(tmp_path, db):
    path = tmp_path / "latin.csv"
    path.write_bytes("customer_id,ts,amount,category\nJosé,2024-01-01,3,Café\n".encode("latin-1"))
    report = ingest(path, db=db)
    assert report["transactions"].rows_kept == 1
    con = duckdb.connect(str(db))
    assert con.execute("SELECT customer_id, category FROM transactions").fetchall() == [
        ("José", "Café")]


def test_ragged_csv_fails_with_one_clear_error_naming_the_file(tmp_path, db):
    path = tmp_path / "ragged.csv"
    path.write_text("customer_id,ts,amount\na,2024-01-01,1\nb,2024-01-02,2,secret@example.com,x\n")
    with pytest.raises(IngestError) as err:
        ingest(path, db=db)
    message = str(err.value)
    assert str(path) in message and "fix:" in message
    assert "secret@example.com" not in message  # DuckDB's quoted line is dropped
    assert row_counts(duckdb.connect(str(db)))["transactions"] == 0


@pytest.mark.parametrize("name, content, expected", [
    ("broken.parquet", b"PAR1 this is not parquet", "cannot read .* as Parquet"),
    ("broken.jsonl", b"{not json\n", "cannot read .* as JSON"),
    ("data.xlsx", b"whatever", "cannot tell the file type"),
])
def test_unreadable_files_fail_clearly(tmp_path, db, name, content, expected):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(IngestError, match=expected) as err:
        ingest(path, db=db)
    assert "fix:" in str(err.value)


def test_missing_file_and_unsupported_source(tmp_path, db):
    with pytest.raises(IngestError, match="source not found"):
        ingest(tmp_path / "nope.csv", db=db)
    with pytest.raises(IngestError, match="cannot ingest a dict"):
        ingest({"a": 1}, db=db)
    with pytest.raises(IngestError, match="is a folder"):
        ingest(tmp_path, db=db)
