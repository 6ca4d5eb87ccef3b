"""`build_profiles`: the base, each part's columns, reuse of given models and rules, the
merge rule that lets a later part (e.g. interests) plug in, and the atomic Parquet file."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ltv.errors import LTVError
from ltv.features.build import build_features
from ltv.profiles.build import build_profiles, merge_part, profile_summary, write_profiles
from ltv.profiles.churn import ChurnModel
from ltv.profiles.cold_start import ColdStartModel, cold_start_training, signup_only_rows
from ltv.profiles.parts import DEFAULT_PARTS
from ltv.profiles.segments import SegmentRules

from .sim_shop import CUTOFF, HORIZON, TRAINING, shop  # noqa: F401 (fixture)


@pytest.fixture(scope="module")
def fitted(shop):
    """The profile built the default way (every model fitted), with its inputs."""
    profile = build_profiles(shop.db, CUTOFF, HORIZON, training=TRAINING)
    features = build_features(shop.db, CUTOFF)
    signups = signup_only_rows(shop.db, CUTOFF)
    return profile, features, signups


def test_one_row_per_customer_known_before_the_cutoff(fitted):
    profile, features, signups = fitted
    expected = sorted(set(features["customer_id"]) | set(signups["customer_id"]))
    assert profile["customer_id"].tolist() == expected
    assert len(signups) > 100 and len(features) > 1000
    assert profile["has_purchase"].sum() == len(features)
    assert (profile["cutoff"] == pd.Timestamp(CUTOFF)).all()
    assert (profile["horizon_days"] == HORIZON).all()
    for col in ("ltv", "ltv_lo", "ltv_hi", "p_active", "churn_risk", "cold_start",
                "cold_start_kind", "cold_start_ltv", "r_score", "f_score", "m_score",
                "rfm_segment", "ltv_tier"):
        assert col in profile.columns
    assert profile["ltv"].notna().all() and profile["churn_risk"].between(0, 1).all()
    assert profile["ltv_tier"].notna().all()


def test_interests_name_the_likeliest_categories_of_buyers(fitted):
    profile, _, _ = fitted
    columns = profile.attrs["profile"]["interests"]["columns"]  # category -> column
    assert len(columns) >= 2 and all(c in profile.columns for c in columns.values())
    buyers = profile[profile["has_purchase"]].reset_index(drop=True)
    probabilities = buyers[list(columns.values())].to_numpy()
    assert np.isfinite(probabilities).all()
    assert ((0 <= probabilities) & (probabilities <= 1)).all()
    # top_interests starts with each buyer's likeliest category
    first = buyers["top_interests"].str.split("|").str[0].map(columns)
    first_p = buyers.to_numpy()[np.arange(len(buyers)),
                                [buyers.columns.get_loc(c) for c in first]].astype(float)
    np.testing.assert_allclose(first_p, probabilities.max(axis=1))
    assert profile.loc[~profile["has_purchase"], "top_interests"].isna().all()


def test_signup_only_customers_are_cold_prospects_scored_by_the_cold_start_model(fitted):
    profile, features, _ = fitted
    signup = profile[~profile["has_purchase"]]
    assert (signup["cold_start_kind"] == "signup_only").all() and signup["cold_start"].all()
    assert (signup["rfm_segment"] == "prospect").all() and signup["r_score"].isna().all()
    assert (signup["ltv_model"] == "cold_start").all()
    np.testing.assert_allclose(signup["ltv"], signup["cold_start_ltv"])
    np.testing.assert_allclose(signup["churn_risk"], 1 - signup["p_active"])
    buyers = profile[profile["has_purchase"]].set_index("customer_id")
    first = features.set_index("customer_id")["frequency"] == 0
    assert (buyers["cold_start"] == first.reindex(buyers.index)).all()
    assert buyers.loc[~buyers["cold_start"], "cold_start_ltv"].isna().all()
    assert (buyers["ltv_model"] == "gbdt").all()
    assert (buyers.loc[buyers["cold_start"], "frequency"] == 1).all()  # one purchase day


def test_segments_and_tiers_follow_the_rules_in_the_attrs(fitted):
    profile, features, _ = fitted
    info = profile.attrs["profile"]
    assert info["parts"] == ["ltv", "cold_start", "churn", "segments", "interests"]
    assert info["ltv"]["source"].startswith("gbdt")
    rules = SegmentRules.from_dict(info["segments"]["rules"])
    buyers = profile[profile["has_purchase"]].set_index("customer_id")
    ltv = buyers["ltv"].reindex(features["customer_id"]).to_numpy()
    again = rules.assign(features, ltv).set_index("customer_id")
    for col in ("r_score", "f_score", "m_score", "rfm_segment", "ltv_tier"):
        assert buyers[col].reindex(again.index).tolist() == again[col].tolist(), col
    tiers = buyers["ltv_tier"].value_counts(normalize=True)
    # thresholds at the 99/90/50% quantiles of these same customers' predictions
    assert tiers["platinum"] == pytest.approx(0.01, abs=0.005)
    assert tiers["gold"] == pytest.approx(0.09, abs=0.01)
    assert tiers["bronze"] == pytest.approx(0.50, abs=0.02)
    summary = profile_summary(profile)
    assert summary["customers"].sum() == len(profile)
    assert summary.loc["prospect", "customers"] == (~profile["has_purchase"]).sum()


@pytest.fixture(scope="module")
def models(shop):
    return (ChurnModel().fit(shop.data),
            ColdStartModel().fit(cold_start_training(shop.db, shop.data)))


def test_given_predictions_models_and_rules_are_used_as_is(shop, models):
    churn, cold = models
    features = build_features(shop.db, CUTOFF)
    given = pd.DataFrame({"customer_id": features["customer_id"],
                          "ltv": np.arange(len(features), dtype=float), "model": "mine"})
    rules = SegmentRules().fit(build_features(shop.db, "2022-11-01"))  # an earlier population
    profile = build_profiles(shop.db, CUTOFF, HORIZON, predictions=given, churn_model=churn,
                             cold_start_model=cold, rules=rules)
    buyers = profile[profile["has_purchase"]].set_index("customer_id")
    assert buyers["ltv"].reindex(given["customer_id"]).tolist() == given["ltv"].tolist()
    assert (buyers["ltv_model"] == "mine").all()
    risk = churn.predict(features).set_index("customer_id")["churn_risk"]
    np.testing.assert_allclose(buyers["churn_risk"].reindex(risk.index), risk)
    segments = rules.assign(features).set_index("customer_id")["rfm_segment"]
    assert buyers["rfm_segment"].reindex(segments.index).tolist() == segments.tolist()
    assert "ltv_tier" not in profile  # rules fitted without LTV make no tiers
    assert profile.attrs["profile"]["ltv"]["source"] == "given predictions"


class OrdersPart:
    """A part as the interests part will be: its own columns for some customers."""

    name = "orders"

    def build(self, ctx, profile):
        f = ctx.features
        return pd.DataFrame({"customer_id": f["customer_id"], "n_orders_seen": f["n_orders"]})


def test_a_new_part_plugs_in(shop, models):
    churn, cold = models
    features = build_features(shop.db, CUTOFF)
    given = pd.DataFrame({"customer_id": features["customer_id"], "ltv": 1.0})
    profile = build_profiles(shop.db, CUTOFF, HORIZON, parts=(*DEFAULT_PARTS, OrdersPart()),
                             predictions=given, churn_model=churn, cold_start_model=cold)
    got = profile.set_index("customer_id")["n_orders_seen"]
    assert got.reindex(features["customer_id"]).tolist() == features["n_orders"].tolist()
    assert got[~profile.set_index("customer_id")["has_purchase"]].isna().all()
    with pytest.raises(LTVError, match="share a name"):
        build_profiles(shop.db, CUTOFF, HORIZON, parts=(OrdersPart(), OrdersPart()))
    with pytest.raises(LTVError, match="`name` and a `build"):
        build_profiles(shop.db, CUTOFF, HORIZON, parts=(object(),))


def test_merge_fills_missing_values_and_never_overwrites():
    base = pd.DataFrame({"customer_id": ["a", "b", "c"], "cutoff": pd.Timestamp("2023-01-01"),
                         "x": [1.0, np.nan, np.nan]})
    part = pd.DataFrame({"customer_id": ["b", "a"], "x": [20.0, 10.0], "y": ["B", "A"]})
    out = merge_part(base, part, "p")
    assert out["x"].tolist()[:2] == [1.0, 20.0] and np.isnan(out["x"][2])
    assert out["y"].tolist()[:2] == ["A", "B"] and pd.isna(out["y"][2])
    with pytest.raises(LTVError, match="twice"):
        merge_part(base, pd.DataFrame({"customer_id": ["a", "a"], "z": [1, 2]}), "p")
    with pytest.raises(LTVError, match="not in the profile's base"):
        merge_part(base, pd.DataFrame({"customer_id": ["zz"], "z": [1]}), "p")
    with pytest.raises(LTVError, match="base column 'cutoff'"):
        merge_part(base, pd.DataFrame({"customer_id": ["a"], "cutoff": [1]}), "p")


def test_parquet_is_written_atomically_with_its_attrs(fitted, tmp_path):
    profile = fitted[0]
    out = write_profiles(profile, tmp_path / "sub" / "profiles.parquet")
    back = pd.read_parquet(out)
    pd.testing.assert_frame_equal(back, profile, check_dtype=False)
    rules = profile.attrs["profile"]["segments"]["rules"]
    assert back.attrs["profile"]["segments"]["rules"] == rules
    assert [p.name for p in out.parent.iterdir()] == ["profiles.parquet"]  # no temp file left
    with pytest.raises(LTVError, match="Parquet"):
        write_profiles(profile, tmp_path / "profiles.csv")


def test_bad_arguments_are_clear_errors(shop):
    with pytest.raises(LTVError, match="horizon_days=0"):
        build_profiles(shop.db, CUTOFF, 0)
    with pytest.raises(LTVError, match="no customer has a transaction or a signup"):
        build_profiles(shop.db, "2020-01-01", HORIZON,
                       predictions=pd.DataFrame({"customer_id": [], "ltv": []}),
                       churn_model=ChurnModel(), cold_start_model=ColdStartModel())
