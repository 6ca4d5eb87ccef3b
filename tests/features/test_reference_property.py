"""Windows, weekly sequences, orders and labels against a plain pandas reference, on random
shops and cutoffs (midnight or not), so the day arithmetic of the SQL is checked everywhere."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ltv.features import build_features
from ltv.warehouse import connect

START = pd.Timestamp("2021-03-01")
WINDOWS = (1, 7, 30)
WEEKS = 5
HORIZON = 10


def orders_of(lines: pd.DataFrame, cutoff: pd.Timestamp) -> int:
    """Distinct (order key, calendar day, cutoff-aligned day) among purchase lines; key =
    order_id, else ts. The staging's definition (ltv.features.staging): at a cutoff that is
    not midnight, the lines of one order an hour apart on either side of a cutoff-aligned day
    boundary count as two orders (hypothesis found that case; real orders' lines share a
    time, so it is rare)."""
    buys = lines[lines["amount"] > 0]
    key = buys["order_id"].where(buys["order_id"].notna(), "ts:" + buys["ts"].astype(str))
    aligned = (cutoff - buys["ts"] - pd.Timedelta(microseconds=1)).dt.days
    return len(set(zip(key, buys["ts"].dt.floor("D"), aligned)))


def reference(tx: pd.DataFrame, cutoff: pd.Timestamp, customer: str) -> dict:
    mine = tx[tx["customer_id"] == customer]
    past = mine[mine["ts"] < cutoff]
    out = {}
    for w in WINDOWS:
        win = past[past["ts"] >= cutoff - pd.Timedelta(days=w)]
        out[f"spend_{w}d"] = win["amount"].sum()
        out[f"orders_{w}d"] = orders_of(win, cutoff)
        # cutoff-aligned days with a purchase line
        back = (cutoff - win.loc[win["amount"] > 0, "ts"] - pd.Timedelta(microseconds=1))
        out[f"active_days_{w}d"] = back.dt.days.nunique()
    seq = np.zeros(WEEKS)
    for k in range(WEEKS):
        lo = cutoff - pd.Timedelta(days=7 * (WEEKS - k))
        hi = cutoff - pd.Timedelta(days=7 * (WEEKS - k - 1))
        seq[k] = past.loc[(past["ts"] >= lo) & (past["ts"] < hi), "amount"].sum()
    out["seq_spend"] = seq
    future = mine[(mine["ts"] >= cutoff) & (mine["ts"] < cutoff + pd.Timedelta(days=HORIZON))]
    out["label_spend"] = future["amount"].sum()
    out["label_orders"] = orders_of(future, cutoff)
    out["label_purchase_days"] = future.loc[future["amount"] > 0, "ts"].dt.floor("D").nunique()
    return out


line = st.tuples(
    st.sampled_from(["a", "b", "c"]),
    st.integers(0, 60 * 24 - 1).map(lambda h: h * 60 + 30),  # seconds: on the half hour
    st.sampled_from([12.5, 3.0, -4.0, 0.0, 40.25]),
    st.sampled_from(["o1", "o2", "o3", None]),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(line, min_size=1, max_size=30),
       cutoff_seconds=st.one_of(st.integers(1, 50).map(lambda d: d * 86400),  # midnight
                                st.integers(1, 50 * 72).map(lambda x: x * 1200)))
@example(lines=[("a", 30, 12.5, "o1"), ("a", 90, 12.5, "o1")], cutoff_seconds=88800)
def test_windows_sequences_and_labels_match_pandas(lines, cutoff_seconds):
    tx = pd.DataFrame(lines, columns=["customer_id", "minute", "amount", "order_id"])
    tx["ts"] = START + pd.to_timedelta(tx.pop("minute") * 60, unit="s")
    cutoff = START + pd.Timedelta(seconds=cutoff_seconds)
    con = connect(":memory:")
    con.register("_tx", tx)
    con.execute("INSERT INTO transactions BY NAME SELECT * FROM _tx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = build_features(con, cutoff, windows=WINDOWS, sequence_weeks=WEEKS,
                             horizon_days=HORIZON, labels=True).set_index("customer_id")
    con.close()
    assert set(got.index) == set(tx.loc[tx["ts"] < cutoff, "customer_id"])
    for customer in got.index:
        want = reference(tx, cutoff, customer)
        row = got.loc[customer]
        for name, value in want.items():
            np.testing.assert_allclose(np.asarray(row[name], dtype=float), value,
                                       err_msg=f"{customer} {name} cutoff={cutoff}")


def test_reference_is_not_vacuous():
    # a reference that ignored its arguments would pass trivially: pin two values
    tx = pd.DataFrame({"customer_id": ["a", "a"], "amount": [5.0, 7.0], "order_id": [None, "x"],
                       "ts": [pd.Timestamp("2021-03-02T23:00"), pd.Timestamp("2021-03-03T01:00")]})
    ref = reference(tx, pd.Timestamp("2021-03-03T12:00"), "a")
    assert (ref["spend_1d"], ref["orders_1d"], ref["active_days_1d"]) == (12, 2, 1)
    assert ref["seq_spend"].tolist() == [0, 0, 0, 0, 12]
