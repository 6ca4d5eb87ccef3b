"""Point in time: rows at or after the cutoff change no feature, only labels.

The same shop is built several times with different rows at or after the cutoff (added,
deleted, changed, in every table) and every feature column must come out identical. The
perturbations are chosen to be loud if they leaked: a new category big enough to enter the top
K, a new event type more frequent than all others, new customers, later attribute rows.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from ltv.features import build_features

T = pd.Timestamp
LABELS = ["label_spend", "label_orders", "label_purchase_days", "label_active"]


def shop(cutoff: pd.Timestamp, seed: int = 0):
    rng = np.random.default_rng(seed)
    n = 300
    start = cutoff - pd.Timedelta(days=400)
    ts = start + pd.to_timedelta(rng.integers(0, 460 * 86400, n), unit="s")
    tx = pd.DataFrame({
        "customer_id": rng.choice(list("abcdefgh"), n),
        "ts": ts,
        "amount": np.round(rng.normal(30, 25, n), 2),
        "order_id": [f"o{i // 2}" if i % 7 else None for i in range(n)],
        "product_id": rng.choice(["p1", "p2", "p3", "p4"], n),
        "category": rng.choice(["books", "toys", None], n),
        "quantity": rng.integers(1, 4, n).astype(float),
    })
    # the cutoff itself belongs to the future
    tx.loc[0, ["customer_id", "ts", "amount"]] = ["a", cutoff, 999.0]
    m = 200
    events = pd.DataFrame({
        "customer_id": rng.choice(list("abcdefgh"), m),
        "ts": start + pd.to_timedelta(rng.integers(0, 460 * 86400, m), unit="s"),
        "event_type": rng.choice(["view", "view", "cart", "purchase"], m),
    })
    customers = pd.DataFrame({
        "customer_id": ["a", "a", "b", "c", "d", "e"],
        "signup_ts": [T("2019-01-01"), T("2019-01-01"), T("2019-06-01"), pd.NaT,
                      cutoff + pd.Timedelta(days=3), T("2019-02-01")],
        "channel": ["ads", "email", "organic", "ads", "social", None],
        "valid_from": [pd.NaT, cutoff - pd.Timedelta(days=30), pd.NaT, pd.NaT, pd.NaT,
                       cutoff + pd.Timedelta(days=1)],
        "country": ["UK", "FR", "DE", "UK", "UK", "ES"],
    })
    products = pd.DataFrame({"product_id": ["p1", "p2", "p3", "p4"],
                             "category": ["books", "games", "toys", "garden"]})
    return tx, events, customers, products


def later_rows(cutoff: pd.Timestamp):
    """Rows at or after the cutoff that would change features if they leaked."""
    after = [cutoff, cutoff + pd.Timedelta(microseconds=1), cutoff + pd.Timedelta(days=2)]
    tx = pd.DataFrame({
        "customer_id": ["a", "b", "zz-new", "c"],
        "ts": after + [cutoff + pd.Timedelta(days=9)],
        "amount": [10_000.0, -500.0, 50.0, 10_000.0],
        "order_id": ["x1", "x2", "x3", None],
        "product_id": [None, None, None, None],
        "category": ["zzz-huge", "books", "zzz-huge", "zzz-huge"],
        "quantity": [100.0, -1.0, 1.0, 5.0],
    })
    events = pd.DataFrame({"customer_id": ["a"] * 50 + ["zz-new"],
                           "ts": [cutoff + pd.Timedelta(hours=i) for i in range(51)],
                           "event_type": ["wishlist"] * 50 + ["view"]})
    customers = pd.DataFrame({
        "customer_id": ["a", "b", "zz-new"],
        "signup_ts": [T("2019-01-01"), cutoff + pd.Timedelta(days=1), cutoff],
        "channel": ["tv", "tv", "tv"],
        "valid_from": [cutoff, cutoff + pd.Timedelta(days=5), cutoff],
        "country": ["US", "US", "US"],
    })
    return tx, events, customers


def features_of(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.drop(columns=[c for c in frame.columns if c.startswith("label_")])
    for col in ("seq_spend", "seq_orders"):
        out[col] = out[col].map(tuple)
    return out.set_index("customer_id")


@pytest.fixture(params=["2021-03-01", "2021-03-01T15:30"], ids=["midnight", "afternoon"])
def cutoff(request):
    return pd.Timestamp(request.param)


def test_rows_at_or_after_the_cutoff_change_no_feature(make_db, cutoff):
    tx, events, customers, products = shop(cutoff)
    build = dict(horizon_days=30, labels=True, top_k_categories=2)

    def run(tx, events, customers):
        db = make_db(tx, events=events, customers=customers, products=products)
        with warnings.catch_warnings():  # censored labels may warn: values matter here
            warnings.simplefilter("ignore")
            return build_features(db, cutoff, **build)

    base = run(tx, events, customers)
    more_tx, more_events, more_customers = later_rows(cutoff)
    added = run(pd.concat([tx, more_tx]), pd.concat([events, more_events]),
                pd.concat([customers, more_customers]))
    past = tx["ts"] < cutoff
    deleted = run(tx[past], events[events["ts"] < cutoff], customers)
    changed_tx = tx.copy()
    changed_tx.loc[~past, "amount"] *= -3
    changed_tx.loc[~past, "category"] = "zzz-huge"
    changed = run(changed_tx, events, customers)

    reference = features_of(base)
    assert len(reference) > 5 and "zz-new" not in reference.index
    assert "ev_wishlist_7d" not in reference.columns
    assert not any("zzz" in c for c in reference.columns)
    for other in (added, deleted, changed):
        pd.testing.assert_frame_equal(features_of(other), reference)

    # ... while the labels do see the future
    labels = base.set_index("customer_id")[LABELS]
    assert labels.loc["a", "label_spend"] >= 999  # the row exactly at the cutoff
    with_more = added.set_index("customer_id")[LABELS]
    assert with_more.loc["a", "label_spend"] == pytest.approx(labels.loc["a", "label_spend"]
                                                              + 10_000)
    assert with_more.loc["b", "label_spend"] == pytest.approx(labels.loc["b", "label_spend"]
                                                              - 500)
    assert deleted.set_index("customer_id")[LABELS].eq(0).all().all()


def test_attributes_are_as_of_the_cutoff(make_db, cutoff):
    tx, events, customers, products = shop(cutoff)
    got = build_features(make_db(tx, customers=customers), cutoff).set_index("customer_id")
    # a: the dated row (valid 30 days before the cutoff) beats the undated one
    assert (got.loc["a", "attr_channel"], got.loc["a", "attr_country"]) == ("email", "FR")
    assert got.loc["b", "attr_channel"] == "organic"
    # d signed up after the cutoff: future information, no tenure
    assert np.isnan(got.loc["d", "tenure_days"])
    # e's only row becomes valid after the cutoff: unknown
    assert got.loc["e", "attr_country"] is None or pd.isna(got.loc["e", "attr_country"])
    expected = (cutoff - pd.Timestamp("2019-06-01")) / pd.Timedelta(days=1)
    assert got.loc["b", "tenure_days"] == pytest.approx(expected)
