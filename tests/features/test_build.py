"""build_features as an API: inputs, optional tables, errors, outputs."""

from __future__ import annotations

import datetime as dt
import warnings

import duckdb
import pandas as pd
import pytest

from ltv.errors import LTVError, SchemaError
from ltv.features import build_features
from ltv.features.build import CensoredLabelsWarning
from ltv.features.params import FeatureError
from ltv.warehouse import connect

ROWS = [("a", "2021-01-05T10:00", 10.0, "o1", "books", 1.0, "p1"),
        ("a", "2021-02-01T10:00", 20.0, "o2", None, 2.0, "p2"),
        ("b", "2021-02-10T10:00", 5.0, "o3", "toys", 1.0, "p3"),
        ("b", "2021-03-10T10:00", 7.0, "o4", "toys", 1.0, "p3")]
CUTOFF = "2021-03-01"


def test_missing_optional_tables_give_no_columns(make_db):
    frame = build_features(make_db(ROWS), CUTOFF)
    assert list(frame["customer_id"]) == ["a", "b"]
    cols = set(frame.columns)
    assert not any(c.startswith(("ev_", "conv_", "attr_")) for c in cols)
    assert not {"tenure_days", "days_since_last_event"} & cols
    assert {"frequency", "spend_30d", "cat_share_books", "seq_spend"} <= cols


def test_no_category_anywhere_gives_no_category_columns(make_db, tx):
    frame = build_features(make_db(tx([("a", "2021-01-05", 10.0)])), CUTOFF)
    assert not any(c.startswith(("cat_share", "n_categories")) for c in frame.columns)
    assert "items_7d" in frame.columns  # the warehouse always has a quantity column


def test_products_fill_missing_categories(make_db):
    products = pd.DataFrame({"product_id": ["p1", "p2", "p3"],
                             "category": ["garden", "garden", "garden"]})
    frame = build_features(make_db(ROWS, products=products), CUTOFF).set_index("customer_id")
    # the line's own category wins; p2's line had none and gets garden
    assert frame.loc["a", "cat_share_books"] == pytest.approx(10 / 30)
    assert frame.loc["a", "cat_share_garden"] == pytest.approx(20 / 30)
    assert frame.loc["b", "cat_share_toys"] == 1


def test_events_counts_and_funnel(make_db):
    ts = pd.Timestamp("2021-02-27T12:00")
    events = pd.DataFrame({
        "customer_id": ["a"] * 6 + ["b"],
        "ts": [ts] * 4 + [ts - pd.Timedelta(days=20), pd.Timestamp("2021-03-02")] + [ts],
        "event_type": ["view", "view", "cart", "purchase", "view", "view", "cart"],
    })
    frame = build_features(make_db(ROWS, events=events), CUTOFF).set_index("customer_id")
    a, b = frame.loc["a"], frame.loc["b"]
    assert (a["ev_view_7d"], a["ev_view_30d"], a["ev_cart_7d"], a["ev_any_7d"]) == (2, 3, 1, 4)
    assert a["conv_cart_view_7d"] == pytest.approx(0.5)
    assert a["conv_purchase_cart_30d"] == 1
    assert a["days_since_last_event"] == pytest.approx(1.5)  # the March 2 view is later
    assert (b["ev_view_7d"], b["ev_cart_7d"]) == (0, 1)
    assert pd.isna(b["conv_cart_view_7d"])


def test_parquet_sources_match_the_warehouse(make_db, tx, tmp_path):
    frame = tx(ROWS)
    frame.to_parquet(tmp_path / "part-0.parquet")
    from_db = build_features(make_db(frame), CUTOFF)
    from_files = build_features(transactions=tmp_path, cutoff=CUTOFF)
    from_glob = build_features(transactions=str(tmp_path / "*.parquet"), cutoff=CUTOFF)
    pd.testing.assert_frame_equal(from_files, from_db)
    pd.testing.assert_frame_equal(from_glob, from_db)


def test_writes_parquet_and_csv_atomically(make_db, tmp_path):
    db = make_db(ROWS)
    frame = build_features(db, CUTOFF, out=tmp_path / "f.parquet")
    back = pd.read_parquet(tmp_path / "f.parquet")
    assert list(back.columns) == list(frame.columns)
    assert back["spend_total"].tolist() == frame["spend_total"].tolist()
    assert list(back.loc[0, "seq_spend"]) == list(frame.loc[0, "seq_spend"])
    build_features(db, CUTOFF, out=tmp_path / "f.csv")
    assert pd.read_csv(tmp_path / "f.csv")["customer_id"].tolist() == ["a", "b"]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    assert build_features(db, CUTOFF, out=tmp_path / "g.parquet", return_frame=False) is None
    assert sorted(pd.read_parquet(tmp_path / "g.parquet")["customer_id"]) == ["a", "b"]
    with pytest.raises(FeatureError, match=r"\.parquet or \.csv"):
        build_features(db, CUTOFF, out=tmp_path / "f.xlsx")


def test_an_open_connection_is_left_as_it_was(make_db):
    con = connect(make_db(ROWS))
    before = con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchone()
    build_features(con, CUTOFF, horizon_days=10, labels=True)
    after = con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchone()
    views = con.execute("SELECT count(*) FROM duckdb_views() WHERE view_name LIKE '_ltvf%'")
    assert before == after and views.fetchone() == (0,)
    con.close()


def test_cutoff_forms_are_utc(make_db):
    db = make_db(ROWS)
    plain = build_features(db, "2021-03-01")
    for same in (dt.date(2021, 3, 1), dt.datetime(2021, 3, 1),
                 pd.Timestamp("2021-03-01T01:00+01:00"), "2021-03-01T00:00:00Z"):
        pd.testing.assert_frame_equal(build_features(db, same), plain)


def test_default_cutoff_is_the_midnight_after_the_last_transaction(make_db):
    frame = build_features(make_db(ROWS))
    assert frame["cutoff"].iloc[0] == pd.Timestamp("2021-03-11")
    assert frame.set_index("customer_id").loc["b", "frequency"] == 1


@pytest.mark.parametrize("kwargs, message", [
    (dict(cutoff="not a date"), "not a date or timestamp"),
    (dict(cutoff=12), "cutoff must be"),
    (dict(cutoff=CUTOFF, labels=True), "needs horizon_days"),
    (dict(cutoff=CUTOFF, labels=True, horizon_days=0), "positive whole number"),
    (dict(cutoff=CUTOFF, labels=True, horizon_days=-5), "positive whole number"),
    (dict(labels=True, horizon_days=5), "explicit cutoff"),
    (dict(cutoff=CUTOFF, windows=(7, -1)), "windows must be positive"),
    (dict(cutoff=CUTOFF, top_k_categories=-1), "top_k_categories"),
])
def test_bad_arguments_raise_clear_errors(make_db, kwargs, message):
    with pytest.raises(FeatureError, match=message) as err:
        build_features(make_db(ROWS), **kwargs)
    assert isinstance(err.value, LTVError) and err.value.fix


def test_missing_inputs_raise_clear_errors(tmp_path, make_db):
    with pytest.raises(FeatureError, match="does not exist"):
        build_features(tmp_path / "nope.duckdb", CUTOFF)
    with pytest.raises(FeatureError, match="no Parquet file matches"):
        build_features(transactions=tmp_path / "none-*.parquet", cutoff=CUTOFF)
    pd.DataFrame({"customer_id": ["a"], "amount": [1.0]}).to_parquet(tmp_path / "x.parquet")
    with pytest.raises(SchemaError, match="'ts'"):
        build_features(transactions=tmp_path / "x.parquet", cutoff=CUTOFF)
    empty = duckdb.connect()
    with pytest.raises(SchemaError, match="no transactions"):
        build_features(empty, CUTOFF)


def test_cutoff_before_all_data_gives_an_empty_table_and_a_warning(make_db):
    with pytest.warns(UserWarning, match="no transaction before the cutoff"):
        frame = build_features(make_db(ROWS), "2020-01-01")
    assert len(frame) == 0 and {"customer_id", "cutoff", "frequency"} <= set(frame.columns)


def test_labels_past_the_data_warn_but_work(make_db):
    with pytest.warns(CensoredLabelsWarning):
        frame = build_features(make_db(ROWS), CUTOFF, horizon_days=365, labels=True)
    assert frame.set_index("customer_id").loc["b", "label_spend"] == 7
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        build_features(make_db(ROWS), "2021-02-01", horizon_days=30, labels=True)


def test_turning_off_categories_and_sequences(make_db):
    frame = build_features(make_db(ROWS), CUTOFF, top_k_categories=0, sequence_weeks=0,
                           windows=(14,))
    cols = set(frame.columns)
    assert "n_categories" in cols and not any(c.startswith("cat_share") for c in cols)
    assert "seq_spend" not in cols
    assert {"spend_14d", "orders_14d"} <= cols and "spend_7d" not in cols


def test_every_table_can_come_from_parquet(make_db, tx, tmp_path):
    customers = pd.DataFrame({
        "customer_id": ["a", "a", "b"], "channel": ["ads", "email", "organic"],
        "signup_ts": [pd.Timestamp("2020-12-01")] * 3,
        "valid_from": [pd.NaT, pd.Timestamp("2021-02-01"), pd.Timestamp("2021-04-01")],
        "region": ["UK", "FR", "DE"]})
    products = pd.DataFrame({"product_id": ["p2"], "category": ["garden"]})
    events = pd.DataFrame({"customer_id": ["a", "b"], "event_type": ["view", "cart"],
                           "ts": [pd.Timestamp("2021-02-27"), pd.Timestamp("2021-02-28")]})
    paths = {}
    for name, frame in (("transactions", tx(ROWS)), ("customers", customers),
                        ("products", products), ("events", events)):
        paths[name] = tmp_path / f"{name}.parquet"
        frame.to_parquet(paths[name])
    from_files = build_features(cutoff=CUTOFF, **paths)
    from_db = build_features(make_db(tx(ROWS), customers=customers, products=products,
                                     events=events), CUTOFF)
    pd.testing.assert_frame_equal(from_files, from_db)
    a = from_files.set_index("customer_id").loc["a"]
    # the dated row (Feb 1) wins over the undated one; b's only row is from April: unknown
    assert (a["attr_channel"], a["attr_region"], a["cat_share_garden"]) == ("email", "FR", 2 / 3)
    assert pd.isna(from_files.set_index("customer_id").loc["b", "attr_region"])
    assert a["tenure_days"] == 90 and a["ev_view_7d"] == 1
