"""Drift checks on simulated shops: nothing fires on an unshifted later snapshot, and exactly
the features that a deliberate change moves fire when it is there."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from ltv.errors import LTVError
from ltv.monitoring.drift import Thresholds, check_snapshot

from .conftest import LATER, MONEY


def not_ok(verdict) -> set[str]:
    return set(verdict["drift"]) | set(verdict["watch"])


def test_the_reference_profile_is_recorded_at_train_time(trained):
    ref = trained.reference
    names = trained.model.feature_names_
    assert set(ref["features"]) | set(ref["skipped"]) == set(names)
    assert list(ref["skipped"]) == ["cutoff"]  # the calendar feature's raw timestamp
    assert ref["rows"] == len(trained.data.snapshot)
    spend = trained.data.snapshot["spend_total"].to_numpy(dtype=float)
    profile = ref["features"]["spend_total"]
    assert profile["quantiles"][0] == spend.min() and profile["quantiles"][-1] == spend.max()
    assert profile["quantiles"][50] == np.quantile(spend, 0.5, method="inverted_cdf")
    channel = trained.data.snapshot["attr_channel"].value_counts(normalize=True)
    assert ref["features"]["attr_channel"]["categories"] == pytest.approx(channel.to_dict())
    # the band: the model's mean prediction on each training window and at the cutoff
    windows = trained.data.windows
    means = [trained.model.predict(windows[windows["cutoff"] == c])["ltv"].mean()
             for c in sorted(windows["cutoff"].unique())]
    means.append(trained.model.predict(trained.data.snapshot)["ltv"].mean())
    band = ref["predictions"]
    assert [w["mean_ltv"] for w in band["windows"]] == pytest.approx(means, rel=1e-9)
    assert band["band_mean"] == pytest.approx(np.mean(means), rel=1e-9)
    assert band["band_std"] == pytest.approx(np.std(means, ddof=1), rel=1e-9)
    assert len(json.dumps(ref)) < 300_000


def test_an_unshifted_later_snapshot_raises_nothing(trained):
    features, predictions = trained.snapshot(trained.db)
    verdict = check_snapshot(trained.reference, features, predictions)
    assert verdict["status"] == "ok", [(f["name"], f["reasons"]) for f in verdict["features"]
                                       if f["status"] != "ok"]
    assert verdict["cutoff"] == str(pd.Timestamp(LATER))
    assert verdict["customers"] == len(features) > trained.reference["rows"]
    prediction = verdict["prediction"]
    assert prediction["alarm"] is False
    low, high = prediction["band"]
    assert low <= prediction["mean_ltv"] <= high


def test_the_training_snapshot_itself_has_zero_drift(trained):
    snapshot = trained.data.snapshot
    verdict = check_snapshot(trained.reference, snapshot, trained.model.predict(snapshot))
    assert verdict["status"] == "ok"
    assert max(f["psi"] for f in verdict["features"]) < 1e-9
    assert max(f.get("ks", 0.0) for f in verdict["features"]) <= 0.01 + 1e-12  # sketch grain


def test_a_price_change_fires_exactly_the_money_features_and_the_prediction_band(
        trained, pricier_shop):
    features, predictions = trained.snapshot(pricier_shop)
    base, _ = trained.snapshot(trained.db)
    # the simulator changed money only: same customers, orders, lines and events
    for column in ("n_orders", "frequency", "recency", "T", "items_total", "ev_view_90d"):
        pd.testing.assert_series_equal(features[column], base[column])
    assert features["spend_total"].sum() / base["spend_total"].sum() == pytest.approx(3, rel=0.01)
    verdict = check_snapshot(trained.reference, features, predictions)
    assert not_ok(verdict) == MONEY
    # the amounts every customer has fire outright; the mostly-zero recent windows may only
    # reach "watch" with 3,000 customers
    assert {"spend_total", "monetary_value", "mean_order_value", "gross_spend",
            "spend_365d"} <= set(verdict["drift"])
    prediction = verdict["prediction"]
    assert prediction["alarm"] is True and prediction["status"] == "drift"
    assert prediction["mean_ltv"] > prediction["band"][1]


def test_a_new_channel_and_blank_regions_fire_those_two_attributes(trained, new_channel_shop):
    features, predictions = trained.snapshot(new_channel_shop)
    verdict = check_snapshot(trained.reference, features, predictions)
    assert not_ok(verdict) == {"attr_channel", "attr_region"}
    assert set(verdict["drift"]) == {"attr_channel", "attr_region"}
    by_name = {f["name"]: f for f in verdict["features"]}
    channel = by_name["attr_channel"]
    expected = (features["attr_channel"] == "tiktok").mean()
    assert channel["unseen_values"] == ["tiktok"]
    assert channel["unseen_share"] == pytest.approx(expected) and 0.05 < expected < 0.15
    region = by_name["attr_region"]
    assert region["missing_current"] == pytest.approx(features["attr_region"].isna().mean())
    assert region["missing_current"] - region["missing_reference"] > 0.25
    assert region["psi"] < region["psi_watch"]  # the regions still present keep their mix
    assert any(r.startswith("missing rate") for r in region["reasons"])


def test_thresholds_follow_the_documented_rule(trained):
    """drift above max(rule of thumb, what noise reaches at alpha / features)."""
    from ltv.monitoring import stats

    features, predictions = trained.snapshot(trained.db)
    thresholds = Thresholds(alpha=0.05)
    verdict = check_snapshot(trained.reference, features, predictions, thresholds)
    spend = next(f for f in verdict["features"] if f["name"] == "spend_total")
    profile = trained.reference["features"]["spend_total"]
    n, m, k = profile["n"], len(features), len(trained.reference["features"])
    bins = len(profile["shares"])
    assert spend["psi_threshold"] == max(0.2, stats.psi_critical(bins, n, m, 0.05 / k))
    assert spend["psi_watch"] == max(0.1, stats.psi_critical(bins, n, m, 0.05))
    assert spend["ks_threshold"] == max(0.1, stats.ks_critical(n, m, 0.05 / k))
    # a tiny shop: noise, not the rule of thumb, sets the bar
    small = features.sample(60, random_state=0)
    tiny = check_snapshot(trained.reference, small, trained.model.predict(small))
    tiny_spend = next(f for f in tiny["features"] if f["name"] == "spend_total")
    assert tiny_spend["psi_threshold"] > 0.2 and tiny_spend["ks_threshold"] > 0.1


def test_bad_input_is_named(trained):
    features, _ = trained.snapshot(trained.db)
    with pytest.raises(LTVError, match="spend_total"):
        check_snapshot(trained.reference, features.drop(columns=["spend_total"]))
    with pytest.raises(LTVError, match="reference profile has no 'features'"):
        check_snapshot({"cutoff": "2022-10-01"}, features)
    with pytest.raises(LTVError, match="psi_drift"):
        Thresholds(psi_drift=-1)


def test_ageing_features_are_reported_but_do_not_alarm(trained):
    """Eight weeks on, every existing customer is 56 days older: T and its kin have moved
    past the thresholds, and say so in notes, without setting the status."""
    features, predictions = trained.snapshot(trained.db, "2022-11-26")
    verdict = check_snapshot(trained.reference, features, predictions)
    by_name = {f["name"]: f for f in verdict["features"]}
    for name in ("T", "days_since_first", "tenure_days"):
        entry = by_name[name]
        assert entry["status"] == "ok" and entry["reasons"] == []
        assert entry["psi"] > entry["psi_threshold"] or entry["ks"] > entry["ks_threshold"]
        assert entry["notes"] and entry["notes"][0].startswith("ages with the calendar")
    assert not {"T", "days_since_first", "tenure_days"} & set(verdict["drift"] + verdict["watch"])
    # the same feature not marked as ageing would alarm
    plain = {**trained.reference, "features": {
        "T": {k: v for k, v in trained.reference["features"]["T"].items() if k != "ages"}}}
    assert check_snapshot(plain, features)["drift"] == ["T"]
