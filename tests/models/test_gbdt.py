"""GBDTModel on a small simulated shop: accuracy against a naive baseline, interval coverage,
persistence, categorical robustness, money-scale equivariance, the validation split.

One simulation (4k customers, 18 months) feeds every test; the fits use fast settings
(learning rate 0.1, one thread) so the module runs in well under a minute.
"""

from __future__ import annotations

import warnings
import zlib

import numpy as np
import pandas as pd
import pytest

from ltv.errors import ConfigError, NotFittedError, SchemaError
from ltv.evaluation.metrics import interval_coverage, normalized_gini, spearman
from ltv.features import build_features
from ltv.models.gbdt import GBDTModel
from ltv.models.gbdt.inputs import CALENDAR_FEATURE
from ltv.models.persistence import CorruptModelError
from ltv.models.protocol import PREDICTION_COLUMNS, TrainingData
from ltv.models.training_data import build_training_data
from ltv.simulate import simulate

CUTOFF = "2023-01-01"
HORIZON = 90
FAST = dict(n_estimators=200, learning_rate=0.1, early_stopping_rounds=20, num_threads=1)


def _build(transactions, customers, *, max_windows=4):
    options = dict(transactions=transactions, customers=customers, sequence_weeks=4)
    data = build_training_data(None, CUTOFF, HORIZON, stride_days=30, max_windows=max_windows,
                               **options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        holdout = build_features(None, CUTOFF, horizon_days=HORIZON, labels=True, **options)
    return data, holdout


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    out = tmp_path_factory.mktemp("gbdt_sim")
    simulate(4_000, out, start="2022-01-01", end="2023-06-30", seed=3)
    return out


@pytest.fixture(scope="module")
def data_and_holdout(shop):
    """Training windows before 2023-01-01 and the holdout: features at it, labels after."""
    return _build(shop / "transactions", shop / "customers.parquet")


@pytest.fixture(scope="module")
def data(data_and_holdout) -> TrainingData:
    return data_and_holdout[0]


@pytest.fixture(scope="module")
def holdout(data_and_holdout) -> pd.DataFrame:
    return data_and_holdout[1]


@pytest.fixture(scope="module")
def fitted(data):
    """Both objectives with conformal intervals, fitted once."""
    return {obj: GBDTModel(objective=obj, **FAST).fit(data) for obj in ("tweedie", "hurdle")}


@pytest.fixture(scope="module")
def tweedie(fitted) -> GBDTModel:
    return fitted["tweedie"]


# ---------------------------------------------------------------- accuracy


@pytest.mark.parametrize("objective", ["tweedie", "hurdle"])
def test_beats_recent_spend_baseline_on_a_later_window(fitted, holdout, objective):
    y = holdout["label_spend"].to_numpy()
    baseline = holdout["spend_90d"].to_numpy()  # ltv = spend over the last H days
    pred = fitted[objective].predict(holdout)["ltv"].to_numpy()
    assert normalized_gini(y, pred) > normalized_gini(y, baseline) + 0.01
    assert spearman(y, pred) > spearman(y, baseline) + 0.01


def test_p_active_ranks_buyers_first(fitted, holdout):
    from ltv.evaluation.metrics import auc
    p = fitted["tweedie"].predict(holdout)["p_active"]
    assert auc(holdout["label_active"], p) > 0.7


def test_tweedie_mean_matches_the_mean_label(tweedie, data, holdout):
    latest = data.latest_window
    assert tweedie.predict(latest)["ltv"].mean() == pytest.approx(
        latest["label_spend"].mean(), rel=0.2)
    # Out of time too: the holdout was never seen.
    assert tweedie.predict(holdout)["ltv"].mean() == pytest.approx(
        holdout["label_spend"].mean(), rel=0.2)


# ---------------------------------------------------------------- intervals


@pytest.mark.parametrize("objective", ["tweedie", "hurdle"])
def test_conformal_coverage_on_the_holdout(fitted, holdout, objective):
    model = fitted[objective]
    pred = model.predict(holdout)
    assert (pred["ltv_lo"] >= 0).all()
    assert (pred["ltv_lo"] <= pred["ltv"]).all() and (pred["ltv"] <= pred["ltv_hi"]).all()
    coverage = interval_coverage(holdout["label_spend"], pred["ltv_lo"], pred["ltv_hi"])
    assert abs(coverage - model.interval_level) <= 0.1
    # Split conformal's rank guarantees at least the level on the calibration rows.
    assert model.validation_["coverage"] >= model.interval_level
    assert 0 < model.conformal_q_ < np.inf and model.conformal_scale_ > 0


def test_quantile_intervals(data, holdout):
    model = GBDTModel(interval="quantile", interval_level=0.8, **FAST).fit(data)
    assert model.conformal_q_ is None
    assert set(model.boosters_) == {"active", "value", "q_lo", "q_hi"}
    pred = model.predict(holdout)
    assert (pred["ltv_lo"] >= 0).all() and (pred["ltv_hi"] >= pred["ltv"]).all()
    assert (pred["ltv_hi"] > pred["ltv_lo"]).mean() > 0.9
    coverage = interval_coverage(holdout["label_spend"], pred["ltv_lo"], pred["ltv_hi"])
    assert 0.65 <= coverage <= 0.95


# ---------------------------------------------------------------- protocol and persistence


def test_predictions_follow_the_contract(tweedie, holdout):
    shuffled = holdout.sample(frac=1.0, random_state=0)
    pred = tweedie.predict(shuffled.assign(unrelated_column="x"))
    assert list(pred.columns) == PREDICTION_COLUMNS
    assert pred["customer_id"].tolist() == shuffled["customer_id"].astype(str).tolist()
    assert (pred["model"] == "gbdt").all()
    assert np.isfinite(pred[["ltv", "ltv_lo", "ltv_hi", "p_active"]].to_numpy()).all()
    assert (pred["ltv"] > 0).all()  # Tweedie's log link: never exactly 0, never negative
    # Row order and extra columns change nothing.
    again = tweedie.predict(holdout).set_index("customer_id").loc[pred["customer_id"]]
    np.testing.assert_array_equal(again["ltv"].to_numpy(), pred["ltv"].to_numpy())
    assert GBDTModel(alias="gb", **FAST).name == "gb"


def test_save_load_gives_identical_predictions(fitted, holdout, tmp_path):
    for objective, model in fitted.items():
        path = tmp_path / objective
        model.save(path)
        loaded = GBDTModel.load(path)
        pd.testing.assert_frame_equal(loaded.predict(holdout), model.predict(holdout),
                                      check_exact=True)
        assert loaded.get_params() == model.get_params()
        assert loaded.best_iteration_ == model.best_iteration_
        assert loaded.conformal_q_ == model.conformal_q_
        assert loaded.categories_ == model.categories_
        pd.testing.assert_series_equal(loaded.feature_importance_, model.feature_importance_)
    booster = tmp_path / "tweedie" / "value.txt"
    booster.write_text(booster.read_text().replace("tree", "TREE", 1))
    with pytest.raises(CorruptModelError, match="checksum"):
        GBDTModel.load(tmp_path / "tweedie")


def test_predict_or_save_before_fit_raises(holdout, tmp_path):
    with pytest.raises(NotFittedError):
        GBDTModel().predict(holdout)
    with pytest.raises(NotFittedError):
        GBDTModel().save(tmp_path / "m")


def test_missing_feature_column_is_named(tweedie, holdout):
    with pytest.raises(SchemaError, match="recency"):
        tweedie.predict(holdout.drop(columns=["recency"]))
    with pytest.raises(SchemaError, match="customer_id"):
        tweedie.predict(holdout.drop(columns=["customer_id"]))


def test_missing_category_share_counts_as_zero(tweedie, holdout):
    # Top categories are chosen per cutoff: a later feature table may lack a share column.
    share = next(c for c in tweedie.feature_names_ if c.startswith("cat_share_"))
    dropped = tweedie.predict(holdout.drop(columns=[share]))
    zeroed = tweedie.predict(holdout.assign(**{share: 0.0}))
    pd.testing.assert_frame_equal(dropped, zeroed, check_exact=True)


def test_unseen_category_level_is_treated_as_missing(tweedie, holdout):
    assert "attr_channel" in tweedie.categories_
    assert "tiktok" not in tweedie.categories_["attr_channel"]
    rows = holdout.head(50)
    unseen = tweedie.predict(rows.assign(attr_channel="tiktok"))
    missing = tweedie.predict(rows.assign(attr_channel=None))
    assert np.isfinite(unseen["ltv"]).all()
    np.testing.assert_array_equal(unseen["ltv"].to_numpy(), missing["ltv"].to_numpy())
    # ... and the level is actually used when known (the channel changes spend).
    levels = tweedie.categories_["attr_channel"]
    by_level = [tweedie.predict(rows.assign(attr_channel=lv))["ltv"].mean() for lv in levels]
    assert max(by_level) > 1.05 * min(by_level)


# ---------------------------------------------------------------- units and learned state


def test_money_scale_only_rescales_predictions(shop, tweedie, holdout, tmp_path):
    tx = pd.read_parquet(shop / "transactions")
    tx["amount"] = tx["amount"] * 1000
    tx.to_parquet(tmp_path / "tx.parquet")
    data_k, holdout_k = _build(tmp_path / "tx.parquet", shop / "customers.parquet")
    model_k = GBDTModel(**FAST).fit(data_k)
    base = tweedie.predict(holdout)
    scaled = model_k.predict(holdout_k)
    assert scaled["customer_id"].tolist() == base["customer_id"].tolist()
    ratio = scaled["ltv"].to_numpy() / base["ltv"].to_numpy()
    assert np.median(ratio) == pytest.approx(1000, rel=0.05)
    assert spearman(base["ltv"], scaled["ltv"]) > 0.98
    assert model_k.conformal_q_ == pytest.approx(tweedie.conformal_q_, rel=0.1)
    np.testing.assert_allclose(scaled["p_active"], base["p_active"], atol=0.02)


def test_trees_are_chosen_on_the_latest_window(tweedie, data):
    latest = data.windows["cutoff"].max()
    assert tweedie.validation_["split"] == "latest window"
    assert tweedie.validation_["rows"] == int((data.windows["cutoff"] == latest).sum())
    assert tweedie.validation_["train_rows"] == int((data.windows["cutoff"] < latest).sum())
    assert tweedie.validation_["out_of_sample"]
    for name, n in tweedie.best_iteration_.items():
        assert 1 <= n <= FAST["n_estimators"], name
        assert tweedie.boosters_[name].num_trees() == n  # the refit uses exactly that many


def test_one_window_splits_by_customer_hash(data):
    one = data.windows[data.windows["cutoff"] == data.windows["cutoff"].min()]
    single = TrainingData(one, data.snapshot, data.horizon_days, data.cutoff)
    model = GBDTModel(calendar_features=False, **FAST).fit(single)
    expected = one["customer_id"].map(lambda s: zlib.crc32(s.encode()) % 5 == 0).sum()
    assert model.validation_["split"] == "customer hash"
    assert model.validation_["rows"] == expected
    assert CALENDAR_FEATURE not in model.feature_names_
    again = GBDTModel(calendar_features=False, **FAST).fit(single)  # deterministic
    np.testing.assert_array_equal(model.predict(one)["ltv"], again.predict(one)["ltv"])


def test_inputs_and_feature_importance(tweedie, data):
    names = tweedie.feature_names_
    assert CALENDAR_FEATURE in names
    assert not [n for n in names if n.startswith(("label_", "seq_")) or n == "cutoff"]
    assert "first_purchase_ts" not in names  # raw timestamps are never inputs
    imp = tweedie.feature_importance_
    assert isinstance(imp, pd.Series) and set(imp.index) == set(names)
    assert imp.sum() == pytest.approx(1.0) and (imp >= 0).all()
    assert imp.is_monotonic_decreasing
    # Spend and activity drive value; the region attribute is pure noise in the simulator.
    assert imp.index[0].startswith(("spend", "gross", "mean_order", "monetary", "active",
                                    "orders", "days_since", "recency", "frequency", "items"))
    assert imp["attr_region"] < imp.iloc[0] / 5


def test_hyperparameters_are_checked_at_fit(data):
    GBDTModel(objective="poisson")  # the constructor only stores
    for bad in (dict(objective="poisson"), dict(interval="bootstrap"),
                dict(interval_level=1.2), dict(tweedie_variance_power=2.5),
                dict(n_estimators=0), dict(learning_rate=0.0)):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            GBDTModel(**bad).fit(data)


def test_windows_without_labels_are_refused(data):
    unlabeled = TrainingData(data.windows.drop(columns=["label_spend"]), data.snapshot,
                             data.horizon_days, data.cutoff)
    with pytest.raises(SchemaError, match="label_spend"):
        GBDTModel(**FAST).fit(unlabeled)
