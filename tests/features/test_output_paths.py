"""The fast paths of build_features: streamed Parquet output, the dense weekly lists made in
numpy, and the day counting of the customer pass (one window instead of a day table)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from ltv.features import build_features
from ltv.features.sequences import SPARSE, expand


def sparse_batch(rows: list) -> pa.RecordBatch:
    kind = pa.list_(pa.struct([("j", pa.int32()), ("s", pa.float64()), ("o", pa.int8())]))
    return pa.RecordBatch.from_arrays(
        [pa.array(range(len(rows))), pa.array(rows, type=kind), pa.array([1.0] * len(rows))],
        names=["id", SPARSE, "after"])


def test_expand_sums_orders_of_a_week_and_keeps_column_order():
    batch = sparse_batch([
        [{"j": 0, "s": 5.0, "o": 1}, {"j": 0, "s": -2.0, "o": 0}, {"j": 2, "s": 7.0, "o": 1}],
        None,  # nothing in the last weeks
        [],
    ])
    out = expand(batch, 3)
    assert out.schema.names == ["id", "seq_spend", "seq_orders", "after"]
    assert out.schema.field("seq_spend").type == pa.list_(pa.float64())
    assert out.column("seq_spend").to_pylist() == [[7.0, 0.0, 3.0], [0.0] * 3, [0.0] * 3]
    assert out.column("seq_orders").to_pylist() == [[1.0, 0.0, 1.0], [0.0] * 3, [0.0] * 3]


def test_expand_respects_the_offset_of_a_sliced_batch():
    rows = [[{"j": k % 4, "s": float(k), "o": 1}] for k in range(10)]
    whole = expand(sparse_batch(rows), 4).column("seq_spend").to_pylist()
    part = expand(sparse_batch(rows).slice(3, 4), 4).column("seq_spend").to_pylist()
    assert part == whole[3:7]
    assert part[0] == [3.0, 0.0, 0.0, 0.0]  # k = 3: week 3 back, the first element


def test_expand_of_an_empty_batch_has_the_final_schema():
    out = expand(sparse_batch([]), 52)
    assert out.num_rows == 0 and out.schema.field("seq_orders").type == pa.list_(pa.float64())


CUTOFF = "2021-01-21T12:00"  # not midnight: a cutoff-aligned day runs from noon to noon
SHOP = [  # customer, ts, amount, order_id
    # a: two orders on the first purchase day, a return-only order, a repeat day with two
    #    orders (each pair in one calendar day and one cutoff-aligned day)
    ("a", "2021-01-04T13:00", 10.0, "o1"), ("a", "2021-01-04T13:00", 5.0, "o1"),
    ("a", "2021-01-04T17:00", 20.0, "o2"), ("a", "2021-01-06T10:00", -4.0, "r1"),
    ("a", "2021-01-09T14:00", 7.0, "o3"), ("a", "2021-01-09T20:00", 3.0, "o4"),
    ("a", "2021-01-20T14:00", 9.0, "o5"),
    # b: a purchase on the morning of the cutoff day and one in its afternoon (a label)
    ("b", "2021-01-05T10:00", 2.0, "o6"), ("b", "2021-01-21T08:00", 6.0, "o7"),
    ("b", "2021-01-21T18:00", 8.0, "o8"), ("b", "2021-01-23T18:00", 1.0, "o9"),
    # c: only after the cutoff: no row (its last line also puts the data past the horizon)
    ("c", "2021-01-22T10:00", 5.0, "o10"), ("c", "2021-02-15T10:00", 5.0, "o11"),
]


@pytest.fixture
def shop_db(make_db, tx):
    return make_db(tx(SHOP))


def test_days_are_counted_once_however_many_orders(shop_db):
    f = build_features(shop_db, CUTOFF, horizon_days=5, labels=True,
                       windows=(3, 30)).set_index("customer_id")
    a = f.loc["a"]
    # purchase days Jan 4, 9 and 20: 3 days of 5 orders
    assert (a["frequency"], a["n_orders"], a["active_days_30d"]) == (2, 5, 3)
    assert (a["orders_3d"], a["active_days_3d"]) == (1, 1)
    assert a["recency"] == 16 and a["T"] == 17  # Jan 4 -> Jan 20 / -> Jan 21 (cutoff day)
    # repeat days: Jan 9 (7 + 3) and Jan 20 (9); the first day's two orders are left out
    assert a["monetary_value"] == pytest.approx(9.5)
    assert (a["ipt_mean"], a["ipt_min"], a["ipt_max"], a["ipt_last"]) == (8, 5, 11, 11)
    assert a["ipt_std"] == pytest.approx(np.std([5, 11], ddof=1))
    b = f.loc["b"]
    # Jan 21 is split by the cutoff: a purchase day before it and a label day after it
    assert (b["frequency"], b["recency"], b["T"]) == (1, 16, 16)
    assert (b["label_purchase_days"], b["label_orders"], b["label_spend"]) == (2, 2, 9)
    assert "c" not in f.index


def test_parquet_stream_equals_the_frame(shop_db, tmp_path, monkeypatch):
    from ltv.features import output

    monkeypatch.setattr(output, "BATCH_ROWS", 1)  # several batches, row groups, writer turns
    kwargs = dict(cutoff=CUTOFF, horizon_days=5, labels=True, sequence_weeks=3)
    frame = build_features(shop_db, **kwargs)
    assert build_features(shop_db, out=tmp_path / "f.parquet", return_frame=False,
                          **kwargs) is None
    back = pd.read_parquet(tmp_path / "f.parquet").sort_values("customer_id", ignore_index=True)
    assert list(back.columns) == list(frame.columns)
    for col in ("seq_spend", "seq_orders"):
        assert back[col].map(list).tolist() == frame[col].map(list).tolist()
    pd.testing.assert_frame_equal(back.drop(columns=["seq_spend", "seq_orders"]),
                                  frame.drop(columns=["seq_spend", "seq_orders"]),
                                  check_dtype=False)
    # weeks from Dec 31 noon: Jan 4 orders and the Jan 6 return; Jan 9; Jan 20
    assert frame.set_index("customer_id").loc["a", "seq_spend"].tolist() == [31, 10, 9]
    assert frame.set_index("customer_id").loc["a", "seq_orders"].tolist() == [2, 2, 1]
    assert not list(tmp_path.glob(".*.tmp"))


def test_csv_stream_has_every_row(shop_db, tmp_path):
    build_features(shop_db, CUTOFF, out=tmp_path / "f.csv", return_frame=False)
    back = pd.read_csv(tmp_path / "f.csv")
    assert sorted(back["customer_id"]) == ["a", "b"] and "seq_spend" in back.columns


def test_a_failing_parquet_writer_raises_and_leaves_no_file(shop_db, tmp_path, monkeypatch):
    from ltv.features import output

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(output, "BATCH_ROWS", 1)
    monkeypatch.setattr(output.pq.ParquetWriter, "write_batch", broken)
    out = tmp_path / "out"
    with pytest.raises(OSError, match="disk full"):
        build_features(shop_db, CUTOFF, out=out / "f.parquet", return_frame=False)
    assert list(out.iterdir()) == []  # neither the file nor its temp file


def test_frame_and_csv_keep_the_customer_order_over_many_batches(make_db, tx, tmp_path,
                                                                monkeypatch):
    from ltv.features import output

    monkeypatch.setattr(output, "BATCH_ROWS", 3)
    rows = [(f"c{i:03d}", "2021-01-05T10:00", 1.0 + i) for i in range(60)]
    db = make_db(tx(rows))
    frame = build_features(db, "2021-02-01", out=tmp_path / "f.csv")
    expected = [f"c{i:03d}" for i in range(60)]
    assert frame["customer_id"].tolist() == expected
    assert pd.read_csv(tmp_path / "f.csv")["customer_id"].tolist() == expected
