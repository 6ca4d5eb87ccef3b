"""Every feature family on a small shop whose values were worked out by hand.

Cutoff 2021-01-01 (midnight, so the last day before it is 2020-12-31).
  a: orders on Jun 1 (two lines), Nov 20, Dec 10, a return on Dec 15, two orders on Dec 28,
     and a purchase after the cutoff (Jan 2) that only the labels may see;
  b: one purchase a second before the cutoff, without order_id or category;
  c: two lines without order_id (two orders: distinct ts) on 2019-01-01, outside every window.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ltv.features import build_features
from ltv.features.build import CensoredLabelsWarning
from ltv.warehouse import connect

ROWS = [
    ("a", "2020-06-01T10:00", 20.0, "o1", "books", 2.0),
    ("a", "2020-06-01T10:00", 10.0, "o1", "toys", 1.0),
    ("a", "2020-11-20T09:00", 30.0, "o2", "books", 1.0),
    ("a", "2020-12-10T15:00", 40.0, "o3", "games", 4.0),
    ("a", "2020-12-15T12:00", -10.0, "r1", "books", -1.0),
    ("a", "2020-12-28T08:00", 5.0, "o4", "toys", 1.0),
    ("a", "2020-12-28T18:00", 7.0, "o5", "toys", 1.0),
    ("a", "2021-01-02T10:00", 100.0, "o6", "books", 1.0),
    ("b", "2020-12-31T23:59:59", 50.0, None, None, 1.0),
    ("c", "2019-01-01T08:00", 12.0, None, "books", 1.0),
    ("c", "2019-01-01T09:00", 3.0, None, "toys", 1.0),
]
CUTOFF = "2021-01-01"


@pytest.fixture(scope="module")
def features(tmp_path_factory):
    path = tmp_path_factory.mktemp("shop") / "shop.duckdb"
    con = connect(path)
    frame = pd.DataFrame(ROWS, columns=["customer_id", "ts", "amount", "order_id", "category",
                                        "quantity"])
    frame["ts"] = pd.to_datetime(frame["ts"], format="ISO8601")
    con.register("_f", frame)
    con.execute("INSERT INTO transactions BY NAME SELECT * FROM _f")
    con.close()
    # the data end on Jan 2, inside the 30-day label window: allowed, with a warning
    with pytest.warns(CensoredLabelsWarning, match="reaches past the last transaction"):
        out = build_features(path, CUTOFF, horizon_days=30, labels=True, top_k_categories=2,
                             sequence_weeks=4)
    return out.set_index("customer_id")


def row(features, customer, columns):
    return [features.loc[customer, c] for c in columns]


def test_one_row_per_customer_with_history(features):
    assert list(features.index) == ["a", "b", "c"]
    assert (features["cutoff"] == pd.Timestamp(CUTOFF)).all()


def test_btyd_summary(features):
    cols = ["frequency", "recency", "T", "monetary_value"]
    assert row(features, "a", cols) == pytest.approx([3, 210, 213, (30 + 40 + 12) / 3])
    assert row(features, "b", cols) == [0, 0, 0, 0]
    assert row(features, "c", cols) == [0, 0, 730, 0]


def test_totals_and_returns(features):
    a = features.loc["a"]
    assert a["spend_total"] == pytest.approx(102)
    assert a["gross_spend"] == pytest.approx(112)
    assert a["returned_spend"] == pytest.approx(10)
    assert (a["n_orders"], a["n_lines"], a["n_return_lines"]) == (5, 7, 1)  # r1: return only
    assert a["items_total"] == pytest.approx(9)
    assert a["mean_order_value"] == pytest.approx(112 / 5)
    assert a["return_rate_amount"] == pytest.approx(10 / 112)
    assert a["return_rate_lines"] == pytest.approx(1 / 7)
    assert a["first_purchase_ts"] == pd.Timestamp("2020-06-01T10:00")
    assert a["last_purchase_ts"] == pd.Timestamp("2020-12-28T18:00")
    assert a["days_since_first"] == pytest.approx(214 - 10 / 24)
    assert a["days_since_last"] == pytest.approx(3.25)
    assert features.loc["b", "days_since_last"] == pytest.approx(1 / 86400)
    assert features.loc["c", "n_orders"] == 2  # no order_id: distinct timestamps
    assert features.loc["b", "return_rate_amount"] == 0


def test_windows(features):
    a = features.loc["a"]
    expected = {  # window: (net spend, orders, items, active days)
        7: (12, 2, 2, 1),      # Dec 28 (two orders, one day)
        30: (42, 3, 5, 2),     # + Dec 10 and the Dec 15 return (not an active day)
        90: (72, 4, 6, 3),     # + Nov 20
        180: (72, 4, 6, 3),    # Jun 1 is 214 days back
        365: (102, 5, 9, 4),
    }
    for w, values in expected.items():
        got = [a[f"spend_{w}d"], a[f"orders_{w}d"], a[f"items_{w}d"], a[f"active_days_{w}d"]]
        assert got == pytest.approx(list(values)), w
    c = features.loc["c"]
    assert [c[f"spend_{w}d"] for w in expected] == [0] * 5


def test_trends(features):
    a = features.loc["a"]
    assert a["spend_trend_7_30"] == pytest.approx((12 / 7) / (42 / 30))
    assert a["orders_trend_7_30"] == pytest.approx((2 / 7) / (3 / 30))
    assert a["spend_trend_30_90"] == pytest.approx(1.75)
    assert a["orders_trend_90_180"] == pytest.approx(2.0)
    assert a["spend_trend_180_365"] == pytest.approx((72 / 180) / (102 / 365))
    assert math.isnan(features.loc["c", "spend_trend_180_365"])  # 0 / 0


def test_intervals(features):
    a = features.loc["a"]
    gaps = np.array([172, 20, 18])
    assert a["ipt_mean"] == pytest.approx(70)
    assert a["ipt_std"] == pytest.approx(gaps.std(ddof=1))
    assert (a["ipt_min"], a["ipt_max"], a["ipt_last"]) == (18, 172, 18)
    assert a["ipt_cv"] == pytest.approx(gaps.std(ddof=1) / 70)
    for col in ("ipt_mean", "ipt_std", "ipt_last", "ipt_cv"):
        assert math.isnan(features.loc["b", col])


def test_category_shares(features):
    # gross spend before the cutoff: books 62, games 40, toys 25 -> top 2 = books, games
    shares = ["cat_share_books", "cat_share_games", "cat_share_other"]
    assert [c for c in features.columns if c.startswith("cat_share_")] == shares
    assert row(features, "a", shares) == pytest.approx([50 / 112, 40 / 112, 22 / 112])
    assert row(features, "b", shares) == pytest.approx([0, 0, 1])  # uncategorised: other
    assert row(features, "c", shares) == pytest.approx([0.8, 0, 0.2])
    counts = ["n_categories", "n_categories_7d", "n_categories_30d", "n_categories_90d"]
    assert row(features, "a", counts) == [3, 1, 2, 3]  # the books return is not bought
    assert row(features, "b", counts) == [0, 0, 0, 0]


def test_weekly_sequences(features):
    # weeks end at the cutoff: [Dec 4, Dec 11), [Dec 11, Dec 18), [Dec 18, Dec 25), [Dec 25, Jan 1)
    assert list(features.loc["a", "seq_spend"]) == [40, -10, 0, 12]
    assert list(features.loc["a", "seq_orders"]) == [1, 0, 0, 2]
    assert list(features.loc["b", "seq_spend"]) == [0, 0, 0, 50]
    assert list(features.loc["c", "seq_spend"]) == [0, 0, 0, 0]
    assert list(features.loc["c", "seq_orders"]) == [0, 0, 0, 0]


def test_labels(features):
    cols = ["label_spend", "label_orders", "label_purchase_days", "label_active"]
    assert row(features, "a", cols) == [100, 1, 1, 1]
    assert row(features, "b", cols) == [0, 0, 0, 0]


def test_non_midnight_cutoff_aligns_windows_and_weeks(make_db, tx):
    db = make_db(tx([("a", "2020-12-25T11:00", 1.0, "o1"), ("a", "2020-12-25T13:00", 2.0, "o2"),
                     ("a", "2021-01-01T11:59", 4.0, "o3"), ("a", "2021-01-01T12:00", 8.0, "o4")]))
    f = build_features(db, "2021-01-01T12:00", sequence_weeks=2, windows=(7, 30)).iloc[0]
    # [Dec 25 12:00, Jan 1 12:00): the 13:00 and 11:59 lines; 11:00 is in the week before
    assert (f["spend_7d"], f["orders_7d"], f["active_days_7d"]) == (6, 2, 2)
    assert list(f["seq_spend"]) == [1, 6]
    # calendar days: Dec 25 and Jan 1 (its morning is before the cutoff)
    assert (f["frequency"], f["recency"], f["T"]) == (1, 7, 7)
    assert f["monetary_value"] == 4
