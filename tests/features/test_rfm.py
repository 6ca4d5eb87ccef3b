"""The BTYD summary: hand-computed cases and a property test against an independent pandas
implementation of lifetimes' `summary_data_from_transaction_data` definition."""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ltv.features import btyd_summary, build_features
from ltv.warehouse import connect


def rfm(frame: pd.DataFrame) -> dict:
    cols = ["frequency", "recency", "T", "monetary_value"]
    return {r.customer_id: tuple(getattr(r, c) for c in cols) for r in frame.itertuples()}


def test_hand_computed_rfm(make_db):
    db = make_db([
        # a: purchases on Jan 1 (two lines, 5 + 6), Jan 5 (7), Jan 8 (4 + a same-day return),
        #    a return-only day Jan 9 that is not a purchase day, and a line on the cutoff day.
        ("a", "2020-01-01T10:00", 5.0), ("a", "2020-01-01T23:59:59", 6.0),
        ("a", "2020-01-05T00:00", 7.0),
        ("a", "2020-01-08T08:00", 4.0), ("a", "2020-01-08T09:00", -1.5),
        ("a", "2020-01-09T12:00", -3.0),
        ("a", "2020-01-11T00:00", 100.0),
        # b: a single purchase day, T counts from it
        ("b", "2020-01-03T05:00", 8.0),
        # c: only a return before the cutoff: in the table, with zeros, T from its first line
        ("c", "2020-01-04T05:00", -2.0),
        # d: only after the cutoff: not in the table
        ("d", "2020-01-12T05:00", 9.0),
    ])
    out = rfm(build_features(db, "2020-01-11"))
    assert set(out) == {"a", "b", "c"}
    # a: purchase days Jan 1, 5, 8 -> frequency 2, recency 7, T = Jan 10 - Jan 1 = 9,
    #    monetary = mean(7, 4) (the same-day return is not netted: purchases only)
    assert out["a"] == (2.0, 7.0, 9.0, 5.5)
    assert out["b"] == (0.0, 0.0, 7.0, 0.0)
    assert out["c"] == (0.0, 0.0, 6.0, 0.0)


def test_non_midnight_cutoff_counts_the_partial_day(make_db):
    db = make_db([("a", "2020-01-01T10:00", 5.0), ("a", "2020-01-11T09:00", 7.0),
                  ("a", "2020-01-11T13:00", 50.0)])
    out = rfm(build_features(db, "2020-01-11T12:00"))
    # the last day before the cutoff is Jan 11 itself: the 09:00 purchase counts, 13:00 not
    assert out["a"] == (1.0, 10.0, 10.0, 7.0)


# --- property test ------------------------------------------------------------------------

def reference_summary(tx: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """lifetimes' definition written out in pandas: freq='D', purchases (amount > 0) only,
    observation_period_end = the day holding cutoff - 1 microsecond."""
    purchases = tx[(tx["ts"] < cutoff) & (tx["amount"] > 0)].copy()
    purchases["day"] = purchases["ts"].dt.floor("D")
    daily = purchases.groupby(["customer_id", "day"], as_index=False)["amount"].sum()
    end_day = (cutoff - pd.Timedelta(microseconds=1)).floor("D")
    rows = {}
    for customer, days in daily.groupby("customer_id"):
        days = days.sort_values("day")
        first, last = days["day"].iloc[0], days["day"].iloc[-1]
        repeat = days["amount"].iloc[1:]
        rows[customer] = (float(len(days) - 1), float((last - first).days),
                          float((end_day - first).days),
                          float(repeat.mean()) if len(repeat) else 0.0)
    return pd.DataFrame.from_dict(rows, orient="index", dtype=float,
                                  columns=["frequency", "recency", "T", "monetary_value"])


START = dt.datetime(2021, 3, 1)
line = st.tuples(
    st.sampled_from(["a", "b", "c", "d"]),
    st.integers(0, 40 * 24 * 60 - 1),  # minutes after START: about 40 days
    st.one_of(st.floats(0.01, 500, allow_nan=False).map(lambda x: round(x, 2)),
              st.floats(-100, -0.01).map(lambda x: round(x, 2)), st.just(0.0)),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(line, min_size=1, max_size=40),
       cutoff_minutes=st.one_of(st.integers(1, 40).map(lambda d: d * 24 * 60),
                                st.integers(1, 40 * 24 * 60)))
def test_summary_matches_the_lifetimes_definition(lines, cutoff_minutes):
    tx = pd.DataFrame(lines, columns=["customer_id", "minute", "amount"])
    tx["ts"] = pd.Timestamp(START) + pd.to_timedelta(tx["minute"], unit="min")
    tx = tx[["customer_id", "ts", "amount"]]
    cutoff = pd.Timestamp(START) + pd.Timedelta(minutes=cutoff_minutes)
    con = connect(":memory:")
    con.register("_tx", tx)
    con.execute("INSERT INTO transactions (customer_id, ts, amount) SELECT * FROM _tx")
    with warnings.catch_warnings():  # a cutoff before every line warns: fine here
        warnings.simplefilter("ignore")
        got = build_features(con, cutoff).set_index("customer_id")
    summary = btyd_summary(con, cutoff).set_index("customer_id")
    con.close()
    expected = reference_summary(tx, cutoff)
    # btyd_summary: exactly the customers with a purchase, exactly the reference values
    assert list(summary.index) == sorted(expected.index)
    pd.testing.assert_frame_equal(summary.loc[expected.index, ["frequency", "recency", "T"]],
                                  expected[["frequency", "recency", "T"]], check_names=False,
                                  check_index_type=False)
    np.testing.assert_allclose(summary.loc[expected.index, "monetary_value"].to_numpy(float),
                               expected["monetary_value"].to_numpy(float), rtol=1e-9)
    # every customer with a purchase before the cutoff has exactly the reference values
    assert set(expected.index) <= set(got.index)
    got = got.loc[expected.index]
    for col in ("frequency", "recency", "T"):
        assert got[col].tolist() == expected[col].tolist(), col
    np.testing.assert_allclose(got["monetary_value"].to_numpy(float),
                               expected["monetary_value"].to_numpy(float), rtol=1e-9)
    # customers with lines but no purchase before the cutoff: zeros
    others = got.index.difference(expected.index)
    assert (got.drop(index=expected.index)[["frequency", "recency", "monetary_value"]] == 0
            ).all().all(), others


def test_btyd_summary_holdout_is_label_purchase_days(make_db, tx):
    rows = [("a", "2020-01-01T10:00", 5.0), ("a", "2020-01-03T10:00", 6.0),
            ("a", "2020-01-12T09:00", 7.0), ("a", "2020-01-12T11:00", 1.0),
            ("a", "2020-01-13T11:00", -4.0), ("a", "2020-01-20T00:00", 9.0),  # after horizon
            ("b", "2020-01-02T00:00", 8.0), ("c", "2020-01-15T00:00", 8.0)]
    db = make_db(tx(rows))
    summary = btyd_summary(db, "2020-01-11", horizon_days=5).set_index("customer_id")
    features = build_features(db, "2020-01-11", horizon_days=5, labels=True)
    assert list(summary.index) == ["a", "b"]  # c only buys after the cutoff
    assert summary["frequency_holdout"].tolist() == [1, 0]  # Jan 12 (twice) is one day
    assert features.set_index("customer_id")["label_purchase_days"].tolist() == [1, 0]
    assert summary.loc["a", ["frequency", "recency", "T", "monetary_value"]].tolist() == [
        1, 2, 9, 6]


def test_equals_lifetimes_itself_when_installed(make_db):
    utils = pytest.importorskip("lifetimes.utils")
    rng = np.random.default_rng(3)
    n = 400
    tx = pd.DataFrame({
        "customer_id": rng.integers(0, 40, n).astype(str),
        "ts": pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 200 * 86400, n), "s"),
        "amount": np.round(rng.normal(20, 15, n), 2),
    })
    cutoff = pd.Timestamp("2021-05-01")
    got = build_features(make_db(tx), cutoff).set_index("customer_id")
    purchases = tx[(tx["amount"] > 0) & (tx["ts"] < cutoff)]
    ref = utils.summary_data_from_transaction_data(
        purchases, "customer_id", "ts", monetary_value_col="amount", freq="D",
        observation_period_end=cutoff - pd.Timedelta(days=1))
    got = got.loc[ref.index]
    for col in ("frequency", "recency", "T"):
        assert got[col].tolist() == ref[col].tolist()
    np.testing.assert_allclose(got["monetary_value"], ref["monetary_value"], rtol=1e-9)
