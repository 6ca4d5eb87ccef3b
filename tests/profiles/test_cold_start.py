"""Cold start: who is cold, the signup-only rows against hand-computed values, and a model
that recovers the simulator's known channel and age effects and beats constant forecasts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ltv.evaluation.metrics import mae, normalized_gini
from ltv.profiles.cold_start import (ColdStartModel, cold_start_frame, cold_start_kind,
                                     cold_start_training, signup_only_rows)

from .sim_shop import CUTOFF, HORIZON, make_warehouse, shop  # noqa: F401 (fixtures)

T = pd.Timestamp


def test_signup_only_rows_by_hand(make_warehouse):
    tx = pd.DataFrame({"customer_id": ["b", "d", "d", "d", "e"],
                       "ts": [T("2023-01-05"), T("2023-02-03"), T("2023-02-20 10:00"),
                              T("2023-02-20 18:00"), T("2023-06-01")],
                       "amount": [10.0, 30.0, -5.0, 12.5, 99.0],
                       "order_id": ["1", "2", "C2", "3", "4"]})
    customers = pd.DataFrame({
        "customer_id": ["a", "b", "c", "d", "d", "e"],
        "signup_ts": [T("2022-12-01"), T("2022-12-01"), T("2023-02-10"), T("2023-01-01"),
                      T("2023-01-01"), T("2023-01-15")],
        "channel": ["social", "organic", "organic", "paid", "referral", None],
        "valid_from": [None, None, None, T("2023-01-01"), T("2023-01-25"), None],
        "age_band": ["25-34", "55+", "18-24", "35-44", "35-44", None]})
    db = make_warehouse(tx, customers)
    rows = signup_only_rows(db, "2023-02-01", horizon_days=30, labels=True)
    # a: signup, never buys. b: bought before the cutoff (not cold-only). c: signs up after.
    # d: signup before, first purchases inside the horizon. e: buys after the horizon.
    assert rows["customer_id"].tolist() == ["a", "d", "e"]
    got = rows.set_index("customer_id")
    assert got.loc["d", "label_spend"] == pytest.approx(37.5)  # 30 - 5 + 12.5
    assert got.loc["d", "label_orders"] == 2  # orders 2 and 3 (C2 is a return)
    assert got.loc["d", "label_purchase_days"] == 2
    assert got["label_active"].tolist() == [0, 1, 0]
    assert got.loc["e", "label_spend"] == 0.0
    # d's channel changed on 2023-01-25, before the cutoff: the later row is the one known
    assert got.loc["d", "attr_channel"] == "referral"
    assert got.loc["a", "attr_age_band"] == "25-34"
    assert got.loc["a", "tenure_days"] == pytest.approx(62.0)  # 2022-12-01 -> 2023-02-01
    assert got["signup_only"].all() and (got["frequency"] == 0).all()
    assert (cold_start_kind(rows) == "signup_only").all()
    without_labels = signup_only_rows(db, "2023-02-01")
    assert not any(c.startswith("label_") for c in without_labels.columns)
    assert signup_only_rows(make_warehouse(tx), "2023-02-01").empty  # no customers table


def test_who_is_cold_and_the_frame_the_model_sees(shop):
    labeled = shop.labeled
    kind = cold_start_kind(labeled)
    assert ((kind == "first_purchase") == (labeled["frequency"] == 0)).all()
    assert (kind[labeled["frequency"] > 0] == None).all()  # noqa: E711 (object array)
    cold = labeled[kind == "first_purchase"]
    frame = cold_start_frame(cold)
    assert (frame["has_purchase"] == 1).all()
    np.testing.assert_allclose(frame["signup_to_first_days"],
                               cold["tenure_days"] - cold["days_since_first"])
    first = pd.to_datetime(cold["first_purchase_ts"])
    assert frame["first_purchase_weekday"].tolist() == first.dt.day_of_week.tolist()
    assert not any(c in frame for c in ("frequency", "spend_90d", "seq_spend", "recency"))
    signups = signup_only_rows(shop.db, CUTOFF)
    frame = cold_start_frame(signups)
    assert (frame["has_purchase"] == 0).all() and (frame["spend_total"] == 0).all()
    assert frame["days_since_first"].isna().all()


@pytest.fixture(scope="module")
def model_and_rows(shop):
    model = ColdStartModel().fit(cold_start_training(shop.db, shop.data))
    signups = signup_only_rows(shop.db, CUTOFF, horizon_days=HORIZON, labels=True)
    cold = shop.labeled[cold_start_kind(shop.labeled) != None]  # noqa: E711
    return model, pd.concat([cold, signups], ignore_index=True)


def partial_dependence(model, rows, column, levels):
    """Mean prediction over the cold customers with `column` set to each level in turn."""
    return {level: model.predict(rows.assign(**{column: level}))["ltv"].mean()
            for level in levels}


def test_the_model_recovers_the_direction_of_known_effects(shop, model_and_rows):
    model, rows = model_and_rows
    params = shop.params
    channel = partial_dependence(model, rows, "attr_channel", params.channels)
    # true value multipliers (purchase rate x spend): organic 1, paid 0.72, social 0.48,
    # referral 1.5. The big gaps must come out in the right direction.
    truth = {c: r * s for c, r, s in zip(params.channels, params.channel_rate_multipliers,
                                         params.channel_spend_multipliers)}
    assert truth["referral"] > truth["organic"] > truth["social"]
    assert channel["referral"] > channel["social"]
    assert channel["organic"] > channel["social"]
    assert channel["referral"] > channel["paid_search"]
    age = partial_dependence(model, rows, "attr_age_band", params.age_bands)
    spend = dict(zip(params.age_bands, params.age_band_spend_multipliers))  # 0.6 ... 1.5
    assert spend["18-24"] < spend["45-54"] < spend["55+"]
    assert age["45-54"] > age["18-24"] and age["55+"] > age["18-24"]
    assert age["45-54"] > age["25-34"] and age["55+"] > age["25-34"]


def test_beats_the_population_and_first_timer_means(shop, model_and_rows):
    model, rows = model_and_rows
    y = rows["label_spend"].to_numpy()
    pred = model.predict(rows)
    assert pred["model"].eq("cold_start").all() and len(pred) == len(rows)
    latest = shop.data.latest_window
    population = np.full(y.size, latest["label_spend"].mean())
    first_timers = np.full(y.size, latest.loc[latest["frequency"] == 0, "label_spend"].mean())
    assert mae(y, pred["ltv"]) < 0.8 * mae(y, first_timers) < mae(y, population)
    assert normalized_gini(y, pred["ltv"]) > 0.4  # constants score 0
    signup = (cold_start_kind(rows) == "signup_only")
    assert normalized_gini(y[signup], pred["ltv"][signup]) > 0.3
    assert abs(pred["ltv"].sum() / y.sum() - 1) < 0.35


def test_save_and_load_give_identical_predictions(model_and_rows, tmp_path):
    model, rows = model_and_rows
    model.save(tmp_path / "cold")
    again = ColdStartModel.load(tmp_path / "cold")
    pd.testing.assert_frame_equal(again.predict(rows), model.predict(rows))
