"""The interest model's (customer x category) table on a tiny warehouse, by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ltv.profiles.interest_data import Layout, build_pairs, top_categories
from ltv.profiles.interest_sources import InterestError, Sources, parse_duration
from ltv.warehouse import connect

DAY = 86_400.0


def load(con, table: str, rows: list[dict]) -> None:
    frame = pd.DataFrame(rows)
    if "ts" in frame:
        frame["ts"] = pd.to_datetime(frame["ts"], format="ISO8601")
    con.register("_rows", frame)
    cols = ", ".join(frame.columns)
    con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _rows")
    con.unregister("_rows")


@pytest.fixture
def con():
    con = connect(":memory:")
    load(con, "transactions", [
        # A: basket o1 holds x and y; basket o2 holds a product whose category comes from
        # products ("x.sub", cut to "x" at depth 1); a return line does not count.
        dict(customer_id="A", ts="2021-01-01 10:00", amount=10.0, order_id="o1", category="x"),
        dict(customer_id="A", ts="2021-01-01 10:00", amount=30.0, order_id="o1", category="y"),
        dict(customer_id="A", ts="2021-01-05 12:00", amount=20.0, order_id="o2",
             product_id="p1"),
        dict(customer_id="A", ts="2021-01-06 00:00", amount=-5.0, order_id="r1", category="x"),
        dict(customer_id="B", ts="2021-01-08 00:00", amount=50.0, order_id="o3", category="y"),
        # labels for cutoff 2021-01-10, horizon 2 days: A buys y inside, x at the end bound
        dict(customer_id="A", ts="2021-01-11 00:00", amount=5.0, order_id="o4", category="y"),
        dict(customer_id="A", ts="2021-01-12 00:00", amount=5.0, order_id="o5", category="x"),
        dict(customer_id="C", ts="2021-01-11 00:00", amount=5.0, order_id="o6", category="x"),
    ])
    load(con, "products", [dict(product_id="p1", category="x.sub")])
    load(con, "events", [
        dict(customer_id="A", ts="2021-01-09 00:00", event_type="view", category="x"),
        dict(customer_id="A", ts="2021-01-02 00:00", event_type="cart", category="y"),
        dict(customer_id="A", ts="2021-01-09 06:00", event_type="view", category=None),
    ])
    yield con
    con.close()


def layout(**kw) -> Layout:
    base = dict(categories=("y", "x"), event_types=("view", "cart"), has_tx=True,
                label_from="transactions", label_event_types=None, horizon_s=2 * DAY,
                windows_s=(3 * DAY,), category_depth=1)
    return Layout(**{**base, **kw})


def test_features_and_labels_by_hand(con):
    cut = pd.Timestamp("2021-01-10")
    with Sources(con, category_depth=1) as src:
        assert top_categories(src, layout(), cut, 5) == ["y", "x"]  # y: A and B; x: A
        t = build_pairs(src, layout(), cut, labels=True)
    assert list(t.customers) == ["A", "B"]  # C is first seen after the cutoff
    f = t.features
    nan = np.nan
    # columns: y, x; rows: A, B
    np.testing.assert_allclose(f["tx_n_all"], [[1, 2], [1, 0]])
    np.testing.assert_allclose(f["tx_share_all"], [[0.5, 1.0], [1.0, 0.0]])
    np.testing.assert_allclose(f["tx_spend_share_all"], [[0.5, 0.5], [1.0, 0.0]])
    np.testing.assert_allclose(f["tx_n_3d"], [[0, 0], [1, 0]])  # since 2021-01-07
    np.testing.assert_allclose(f["cust_tx_n_all"], [[2, 2], [1, 1]])
    np.testing.assert_allclose(f["cust_spend_all"], [[60, 60], [50, 50]])
    # recency in horizons (2 days): A's x last 01-05 12:00 -> 4.5 days; y 01-01 10:00
    np.testing.assert_allclose(f["tx_recency"], [[(8 + 14 / 24) / 2, 2.25], [1.0, nan]])
    np.testing.assert_allclose(f["evt_view_3d"], [[0, 1], [0, 0]])
    np.testing.assert_allclose(f["evt_cart_all"], [[1, 0], [0, 0]])
    np.testing.assert_allclose(f["ev_share_all"], [[1 / 3, 1 / 3], [0, 0]])
    np.testing.assert_allclose(f["ev_share_3d"], [[0, 1 / 2], [0, 0]])
    # popularity over [01-08, 01-10): only B bought y. prior = (k + 1) / (n + 2)
    np.testing.assert_allclose(f["cat_prior"][0], [2 / 4, 1 / 4])
    # baseline (units in c + prior) / (units + 1), units = baskets
    np.testing.assert_allclose(f["base_share"], [[(1 + 0.5) / 3, (2 + 0.25) / 3],
                                                 [(1 + 0.5) / 2, (0 + 0.25) / 2]])
    np.testing.assert_allclose(f["mix_x"], [[1.0, 1.0], [0.0, 0.0]])
    np.testing.assert_allclose(t.labels, [[1, 0], [0, 0]])


def test_event_labels_and_full_category_depth(con):
    cut = pd.Timestamp("2021-01-09 03:00")
    lay = layout(label_from="events", categories=("x", "y", "x.sub"), category_depth=None,
                 horizon_s=DAY)
    with Sources(con) as src:
        assert top_categories(src, lay, pd.Timestamp("2021-01-10"), 5) == ["x", "y"]
        t = build_pairs(src, lay, cut, labels=True)
        # without the depth cut, the product's category stays "x.sub"
        tx = src.query(f"SELECT cat FROM {src.tx} WHERE basket LIKE 'o2|%'")
    assert tx["cat"].tolist() == ["x.sub"]
    assert list(t.customers) == ["A", "B"]
    # A's events after 03:00 within a day: one view with no category -> no label
    np.testing.assert_allclose(t.labels, 0)
    # popularity over [01-08 03:00, 01-09 03:00): A viewed x
    np.testing.assert_allclose(t.features["cat_prior"][0], [2 / 4, 1 / 4, 1 / 4])
    # units are events: A has 2 before the cutoff (x view, y cart), 1 in each
    np.testing.assert_allclose(t.features["base_share"][0, :2],
                               [(1 + t.features["cat_prior"][0, 0]) / 3,
                                (1 + t.features["cat_prior"][0, 1]) / 3])


def test_rows_after_the_cutoff_change_no_feature(con):
    cut = pd.Timestamp("2021-01-10")
    with Sources(con, category_depth=1) as src:
        before = build_pairs(src, layout(), cut, labels=False)
    load(con, "transactions", [dict(customer_id="A", ts="2021-01-10 00:00", amount=99.0,
                                    order_id="z", category="y"),
                               dict(customer_id="D", ts="2021-02-01", amount=1.0,
                                    order_id="z2", category="x")])
    load(con, "events", [dict(customer_id="B", ts="2021-01-10 00:00:01", event_type="view",
                              category="x")])
    with Sources(con, category_depth=1) as src:
        after = build_pairs(src, layout(), cut, labels=False)
    assert list(after.customers) == list(before.customers)
    for name, value in before.features.items():
        np.testing.assert_array_equal(after.features[name], value, err_msg=name)


def test_durations_and_missing_inputs():
    assert parse_duration(91, "horizon") == pd.Timedelta(days=91)
    assert parse_duration("50min", "horizon") == pd.Timedelta(minutes=50)
    for bad in (0, -1, "soon", True, None):
        with pytest.raises(InterestError, match="horizon"):
            parse_duration(bad, "horizon")
    con = connect(":memory:")
    with Sources(con) as src:
        assert src.tx is None and src.ev is None
        with pytest.raises(InterestError, match="no purchase line"):
            top_categories(src, layout(), pd.Timestamp("2021-01-01"), 3)
