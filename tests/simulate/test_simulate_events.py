"""Behaviour events: sessions of views and carts before each purchase, browse-only sessions."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from ltv.simulate import SimulationParams
from ltv.simulate.seasonality import build_calendar

Z = 4.0


def _events(sim) -> pd.DataFrame:
    events = sim.read("events")
    events["row"] = np.arange(len(events))
    return events


def test_every_purchase_follows_a_view_and_a_cart_of_its_product_in_its_session(default_sim):
    events = _events(default_sim)
    buys = events[events["event_type"] == "purchase"]
    key = ["session_id", "product_id"]
    first_view = events[events["event_type"] == "view"].groupby(key)["ts"].min().rename("view_ts")
    first_cart = events[events["event_type"] == "cart"].groupby(key)["ts"].min().rename("cart_ts")
    joined = buys.join(first_view, on=key).join(first_cart, on=key)
    assert len(buys) > 1000
    assert joined["view_ts"].notna().all() and joined["cart_ts"].notna().all()
    assert (joined["view_ts"] <= joined["cart_ts"]).all()
    assert (joined["cart_ts"] <= joined["ts"]).all()


def test_sessions_are_contiguous_and_in_time_order(default_sim):
    events = _events(default_sim)
    # A session's rows are adjacent: its row numbers span exactly its size.
    span = events.groupby("session_id")["row"].agg(["min", "max", "size"])
    assert (span["max"] - span["min"] + 1 == span["size"]).all()
    same = events["session_id"].to_numpy()[1:] == events["session_id"].to_numpy()[:-1]
    step = np.diff(events["ts"].to_numpy().astype(np.int64))
    assert (step[same] >= 0).all()
    rank = events["event_type"].map({"view": 0, "cart": 1, "purchase": 2}).to_numpy()
    assert (np.diff(rank)[same] >= 0).all()  # views, then carts, then purchases
    assert events["customer_id"].groupby(events["session_id"]).nunique().max() == 1


def test_purchase_events_are_the_bought_lines(default_sim):
    events = _events(default_sim)
    tx = default_sim.read("transactions")
    bought = tx[tx["amount"] > 0]
    cols = ["customer_id", "ts", "product_id", "category", "price"]
    from_tx = bought.assign(price=bought["amount"] / bought["quantity"])[cols]
    from_events = events.loc[events["event_type"] == "purchase", cols]
    assert len(from_tx) == len(from_events)
    a = from_tx.sort_values(cols).reset_index(drop=True)
    b = from_events.sort_values(cols).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12)
    # One purchase session per order.
    per_session = events[events["event_type"] == "purchase"].groupby("session_id")["ts"].nunique()
    assert (per_session == 1).all()
    assert len(per_session) == bought["order_id"].nunique()


def test_views_and_browse_sessions_match_their_rates(default_sim):
    p = SimulationParams()
    events = _events(default_sim)
    kinds = events.pivot_table(index="session_id", columns="event_type", values="row",
                               aggfunc="size", fill_value=0)
    purchase = kinds[kinds["purchase"] > 0]
    browse = kinds[kinds["purchase"] == 0]
    # Purchase sessions: one view per line plus Poisson(extra_views_mean) others.
    extra = (purchase["view"] - purchase["purchase"]).to_numpy()
    assert abs(extra.mean() - p.extra_views_mean) < Z * np.sqrt(p.extra_views_mean / len(extra))
    assert (purchase["cart"] == purchase["purchase"]).all()
    # Browse sessions: 1 + Poisson views, each carted with browse_cart_prob.
    views = browse["view"].to_numpy()
    assert (views >= 1).all()
    assert abs(views.mean() - 1 - p.browse_extra_views_mean) < Z * np.sqrt(p.browse_extra_views_mean / len(views))
    share = browse["cart"].sum() / views.sum()
    assert abs(share - p.browse_cart_prob) < Z * np.sqrt(p.browse_cart_prob * (1 - p.browse_cart_prob) / views.sum())
    # Their number: Poisson with mean ratio * lambda * integral of the season while alive.
    meta = json.loads((default_sim.out / "params.json").read_text())
    start, end = pd.Timestamp(meta["start"]), pd.Timestamp(meta["observation_end"])
    t_end = (end - start).days
    truth = default_sim.read("ground_truth")
    cal = build_calendar(start, t_end, p)
    a = (truth["signup_ts"] - start).dt.total_seconds().to_numpy() / 86_400
    b = np.minimum(np.nan_to_num((truth["dropout_ts"] - start).dt.total_seconds().to_numpy() / 86_400,
                                 nan=np.inf), t_end)
    mean = (p.browse_sessions_per_order * truth["lambda"].to_numpy()
            * (cal.integral(np.maximum(a, b)) - cal.integral(a))).sum()
    assert abs(len(browse) - mean) < Z * np.sqrt(mean)
