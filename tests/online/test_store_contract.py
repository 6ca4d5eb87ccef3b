"""One suite, every backend (SQLite and Redis): the online store's contract."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest

from ltv.features import build_features
from ltv.online import OnlineStoreError, StoreMeta, materialize, open_store

from .conftest import CUTOFF, shop_tables


def cycle(values: list, n: int) -> list:
    return [values[i % len(values)] for i in range(n)]


def typed_frame(n: int = 5, value: float = 1.5, start: int = 0) -> pd.DataFrame:
    """Every kind of column a feature table has, NULLs included."""
    ids = [f"c{i}" for i in range(start, start + n)]
    floats = cycle([value, np.nan, -0.0, 1e-300, np.inf, 0.1 + 0.2, -7.25], n)
    stamps = cycle(["2023-01-02 03:04:05.678901", None, "1999-12-31",
                    "2024-02-29 23:59:59.999999", "2030-01-01"], n)
    return pd.DataFrame({
        "customer_id": pd.array(ids, dtype="str"),
        "cutoff": pd.to_datetime([CUTOFF] * n).astype("datetime64[us]"),
        "spend_total": np.array(floats, dtype=np.float64),
        "n_orders": np.arange(n, dtype=np.int64) * 1_000_003 + 2 ** 52,
        "n_lines": np.arange(n, dtype=np.int32),
        "attr_tier": pd.array(cycle(["gold", None, "bronze", "ünïcode ✓", ""], n), dtype="str"),
        "first_purchase_ts": pd.to_datetime(stamps, format="ISO8601").astype("datetime64[us]"),
        "seq_spend": [np.array([value, -1.0, 0.0, 1 / 3]) for _ in range(n)],
    })


def replace(store, frame, **meta):
    with store.replace(StoreMeta.for_frame(frame, CUTOFF, **meta)) as batch:
        batch.write(frame)
    return store.meta()


def test_round_trip_every_dtype(store):
    frame = typed_frame()
    replace(store, frame)
    got = store.get_frame(list(frame.customer_id))
    pd.testing.assert_frame_equal(got, frame, check_exact=True)
    assert np.signbit(got.spend_total[2])  # -0.0 stays -0.0
    row = store.get("c0")
    assert row["spend_total"] == 1.5 and row["n_orders"] == 2 ** 52
    assert isinstance(row["n_orders"], int) and row["seq_spend"] == [1.5, -1.0, 0.0, 1 / 3]
    assert str(row["first_purchase_ts"]) == "2023-01-02 03:04:05.678901"
    null = store.get("c1")
    assert np.isnan(null["spend_total"]) and null["attr_tier"] is None
    assert null["first_purchase_ts"] is None


def test_get_many_missing_and_order(store):
    assert store.meta() is None and store.count() == 0 and store.get_many(["x"]) == {}
    replace(store, typed_frame())
    got = store.get_many(["c3", "nobody", "c0"])
    assert list(got) == ["c3", "c0"]
    assert store.get("nobody") is None and store.get_many([]) == {}
    frame = store.get_frame(["c4", "nobody", "c2"])
    assert list(frame.customer_id) == ["c4", "c2"]
    assert store.get_frame(["nobody"]).empty


def test_upsert_and_count(store):
    replace(store, typed_frame(3))
    assert store.count() == 3
    changed = typed_frame(4, value=9.0, start=2)  # c2 changes, c3..c5 are new
    assert store.write(changed) == 4
    assert store.count() == 6
    assert store.get("c2")["spend_total"] == 9.0 and store.get("c0")["spend_total"] == 1.5
    partial = typed_frame(1, value=4.0)[["customer_id", "spend_total"]]  # others -> NULL
    store.write(partial)
    row = store.get("c0")
    assert row["spend_total"] == 4.0 and row["attr_tier"] is None


def test_write_needs_materialized_store(store):
    with pytest.raises(OnlineStoreError, match="materialize"):
        store.write(typed_frame(1))


def test_metadata(store):
    meta = replace(store, typed_frame(), options={"windows": [7]}, source="shop.duckdb")
    assert meta.rows == 5 and meta.cutoff == "2024-03-01T00:00:00"
    assert meta.feature_names[:2] == ["customer_id", "cutoff"]
    assert meta.options == {"windows": [7]} and meta.source == "shop.duckdb"
    assert meta.materialized_at and meta.generation >= 1
    again = replace(store, typed_frame(2))
    assert again.generation > meta.generation and again.rows == 2


def test_rematerialize_replaces_atomically(store, store_url):
    n = 300
    replace(store, typed_frame(n, value=1.0))
    seen, errors, stop = set(), [], threading.Event()

    def reader():
        other = open_store(store_url)
        ids = [f"c{i}" for i in range(n)]
        try:
            while not stop.is_set():
                values = set(other.get_frame(ids).seq_spend.map(lambda a: a[0]))
                if len(values) != 1:
                    errors.append(values)
                seen.update(values)
        except Exception as err:  # noqa: BLE001 - reported below
            errors.append(err)
        finally:
            other.close()

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    for version in (2.0, 3.0, 4.0):
        frame = typed_frame(n, value=version)
        with store.replace(StoreMeta.for_frame(frame, CUTOFF)) as batch:
            for start in range(0, n, 50):  # in batches, as materialize writes
                batch.write(frame.iloc[start:start + 50])
    stop.set()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    assert store.count() == n and store.get("c7")["seq_spend"][0] == 4.0
    # a failed replacement leaves the old content
    with pytest.raises(RuntimeError):
        with store.replace(StoreMeta.for_frame(typed_frame(2), CUTOFF)) as batch:
            batch.write(typed_frame(2, value=-1.0))
            raise RuntimeError("boom")
    assert store.count() == n and store.get("c0")["seq_spend"][0] == 4.0


def test_threads_read_and_write(store):
    replace(store, typed_frame(50))
    errors = []

    def work(k: int):
        try:
            for i in range(20):
                store.write(typed_frame(1, value=float(k), start=100 + k))
                got = store.get_many([f"c{j}" for j in range(50)] + [f"c{100 + k}"])
                assert len(got) == 51 and got[f"c{100 + k}"]["spend_total"] == float(k)
        except Exception as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    assert store.count() == 56


def test_materialize_copies_the_features(store, store_url, make_warehouse):
    db = make_warehouse(shop_tables())
    meta = materialize(db, CUTOFF, store_url)
    expected = build_features(db, CUTOFF)
    assert meta.rows == len(expected) == store.count()
    assert meta.options["top_categories"] == expected.attrs["population"]["top_categories"]
    got = store.get_frame(list(expected.customer_id))
    pd.testing.assert_frame_equal(got, expected.reset_index(drop=True), check_exact=True)
    # re-materializing at another cutoff replaces everything
    materialize(db, "2024-01-01", store)
    assert store.count() == len(build_features(db, "2024-01-01"))
    assert store.meta().cutoff == "2024-01-01T00:00:00"
    # a served model's columns: pinned categories and event types, with their real values
    chosen = expected.attrs["population"]
    pinned = {"top_categories": chosen["top_categories"][::-1][:2],
              "event_types": (chosen["event_types"] or [])[:1]}
    meta = materialize(db, CUTOFF, store, **pinned)
    assert {k: meta.options[k] for k in pinned} == pinned
    again = build_features(db, CUTOFF, **pinned)
    pd.testing.assert_frame_equal(store.get_frame(list(again.customer_id)),
                                  again.reset_index(drop=True), check_exact=True)


@pytest.mark.parametrize("row", range(5))
def test_one_row_fast_path_equals_the_vectorized_decode(row):
    """get()/get_many([id]) decode one row in plain Python (the server's hot path); it must
    give exactly what the column-wise decode gives for that row."""
    from ltv.online import codec

    frame = typed_frame(5).assign(flag=[True, False, True, False, True],
                                  share32=np.array([0.1, 0.2, 0.3, 0.4, 0.5], np.float32))
    layout = codec.Layout.for_frame(frame) if hasattr(codec.Layout, "for_frame") else \
        codec.Layout.from_json(StoreMeta.for_frame(frame, CUTOFF).layout)
    [value] = codec.encode_frame(frame.iloc[[row]], layout, generation=1)
    fast = codec.decode_records([value], layout)[0]
    block, texts = codec.decode_block([value], layout)
    slow = codec._records(block, texts, layout)[0]
    assert fast.keys() == slow.keys()
    for name in fast:
        a, b = fast[name], slow[name]
        assert type(a) is type(b), name
        assert (a != a and b != b) or a == b, (name, a, b)


def test_profiles_sit_beside_the_features_of_their_generation(store):
    from ltv.online.profiles import read_profile, write_profiles

    profiles = pd.DataFrame({
        "customer_id": ["c0", "c1"], "cutoff": pd.to_datetime([CUTOFF] * 2),
        "rfm_segment": ["champions", None], "churn_risk": [0.25, np.nan],
        "r_score": pd.array([5, pd.NA], dtype="Int64"), "cold_start": [False, True],
        "top_interests": ["toys|books", None]})
    with pytest.raises(OnlineStoreError, match="materialize"):
        write_profiles(store, profiles)
    replace(store, typed_frame(3))
    assert write_profiles(store, profiles) == 2
    assert read_profile(store, "c0") == {
        "customer_id": "c0", "cutoff": "2024-03-01T00:00:00", "rfm_segment": "champions",
        "churn_risk": 0.25, "r_score": 5, "cold_start": False, "top_interests": "toys|books"}
    assert read_profile(store, "c1") == {
        "customer_id": "c1", "cutoff": "2024-03-01T00:00:00", "rfm_segment": None,
        "churn_risk": None, "r_score": None, "cold_start": True, "top_interests": None}
    assert read_profile(store, "c2") is None
    replace(store, typed_frame(3))  # a new generation starts without profiles
    assert read_profile(store, "c0") is None
