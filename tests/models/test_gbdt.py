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
from ltv.models.gbdt.inputs import CALENDAR_FEATURE, InputSpec
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


def test_tweedie_mean_matches_the_mean_label(tweedie, data):
    latest = data.latest_window
    assert tweedie.predict(latest)["ltv"].mean() == pytest.approx(
        latest["label_spend"].mean(), rel=0.2)
    # The balance correction: over all training rows the total is exactly the clipped total
    # (without it Tweedie's mu^-0.5 weighting leaves it ~15% short on this shop).
    everything = tweedie.predict(data.windows)["ltv"].sum()
    assert everything == pytest.approx(data.windows["label_spend"].clip(lower=0).sum(), rel=1e-9)
    assert tweedie.balance_factor_ > 1.05


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
    # The upper quantile is in money, well above the mean for most customers (right skew).
    assert (pred["ltv_hi"] > 1.5 * pred["ltv"]).mean() > 0.5
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
    # Not exactly 1000: x1000 rounds differently in float32, which reshuffles near-tied
    # splits; the tolerances are the model's own fit-to-fit variance on this small shop.
    assert scaled["ltv"].mean() / base["ltv"].mean() == pytest.approx(1000, rel=0.1)
    assert np.median(scaled["ltv"] / base["ltv"]) == pytest.approx(1000, rel=0.15)
    assert spearman(base["ltv"], scaled["ltv"]) > 0.97
    assert model_k.label_scale_ == pytest.approx(1000 * tweedie.label_scale_, rel=1e-6)
    assert model_k.conformal_q_ == pytest.approx(tweedie.conformal_q_, rel=0.1)
    # p_active does not depend on money at all: equal up to fit-to-fit noise (changing only
    # the seed moves it by ~0.05 per customer on average here).
    assert scaled["p_active"].mean() == pytest.approx(base["p_active"].mean(), abs=0.01)
    assert np.abs(scaled["p_active"] - base["p_active"]).mean() < 0.1


def test_trees_are_chosen_on_the_latest_window(tweedie, data):
    # Windows at 2022-10-03, 09-03, 08-04, 07-05 (stride 30, H = 90): the latest validates;
    # only 07-05's labels end by 10-03 (07-05 + 90 d), so only it trains stage 1.
    cutoffs = pd.to_datetime(data.windows["cutoff"])
    assert sorted(cutoffs.dt.date.astype(str).unique()) == \
        ["2022-07-05", "2022-08-04", "2022-09-03", "2022-10-03"]
    assert tweedie.validation_["split"] == "gapped latest window"
    assert tweedie.validation_["rows"] == int((cutoffs == "2022-10-03").sum())
    assert tweedie.validation_["train_rows"] == int((cutoffs == "2022-07-05").sum())
    assert tweedie.validation_["out_of_sample"]
    for name, n in tweedie.best_iteration_.items():
        assert 1 <= n <= FAST["n_estimators"], name
        assert tweedie.boosters_[name].num_trees() == n  # the refit uses exactly that many


def test_same_data_same_model(data, holdout, tweedie):
    again = GBDTModel(**FAST).fit(data)
    pd.testing.assert_frame_equal(again.predict(holdout), tweedie.predict(holdout),
                                  check_exact=True)
    # Last-digit noise in the features (DuckDB's parallel sums vary so) changes nothing.
    noisy = data.windows.copy()
    noisy["spend_total"] = noisy["spend_total"] * (1 + 1e-15)
    perturbed = GBDTModel(**FAST).fit(TrainingData(noisy, data.snapshot, data.horizon_days,
                                                   data.cutoff))
    pd.testing.assert_frame_equal(perturbed.predict(holdout), tweedie.predict(holdout),
                                  check_exact=True)


def test_one_window_splits_by_customer_hash(data):
    one = data.windows[data.windows["cutoff"] == data.windows["cutoff"].min()]
    single = TrainingData(one, data.snapshot, data.horizon_days, data.cutoff)
    model = GBDTModel(calendar_features=False, **FAST).fit(single)
    expected = one["customer_id"].map(lambda s: zlib.crc32(s.encode()) % 5 == 0).sum()
    assert model.validation_["split"] == "customer hash"
    assert model.validation_["rows"] == expected
    assert CALENDAR_FEATURE not in model.inputs_.feature_names
    assert "cutoff" not in model.feature_names_


def test_inputs_and_feature_importance(tweedie, data):
    names = tweedie.feature_names_  # feature-table columns read by predict
    assert names[-1] == "cutoff" and "attr_channel" in names
    assert not [n for n in names if n.startswith(("label_", "seq_"))]
    assert "first_purchase_ts" not in names  # raw timestamps are never inputs
    columns = tweedie.inputs_.feature_names  # what the boosters see
    assert columns == names[:-1] + [CALENDAR_FEATURE]
    imp = tweedie.feature_importance_
    assert isinstance(imp, pd.Series) and set(imp.index) == set(columns)
    assert imp.sum() == pytest.approx(1.0) and (imp >= 0).all()
    assert imp.is_monotonic_decreasing
    # Spend and activity drive value; the region attribute is pure noise in the simulator.
    assert imp.index[0].startswith(("spend", "gross", "mean_order", "monetary", "active",
                                    "orders", "days_since", "recency", "frequency", "items"))
    assert imp["attr_region"] < imp.iloc[0] / 5


def test_categorical_codes():
    frame = pd.DataFrame({"customer_id": ["a", "b", "c", "d"], "x": [1.0, 2.0, np.nan, 4.0],
                          "attr_channel": ["web", "app", None, "tiktok"],
                          "cutoff": pd.to_datetime(["2023-01-01"] * 3 + ["2023-02-01"])})
    spec = InputSpec.learn(frame.iloc[:3], calendar=True)
    assert spec.categories == {"attr_channel": ["app", "web"]}
    X = spec.matrix(frame)
    assert X.dtype == np.float32 and X.shape == (4, 3)
    np.testing.assert_array_equal(X[:, 1], [1.0, 0.0, np.nan, np.nan])  # unseen -> missing
    np.testing.assert_array_equal(X[:, 2], [1.0, 1.0, 1.0, 32.0])  # day of year of cutoff
    assert InputSpec.from_dict(spec.to_dict()) == spec


@pytest.mark.parametrize("dtype", [object, "string", "str"])
def test_category_codes_match_pandas_string_matching(dtype):
    """Codes come from a dict lookup per value; the reference is pandas' own matching of the
    values as strings against the levels (missing and unseen -> NaN)."""
    levels = ["1", "app", "web", "ünï"]
    values = ["web", None, "app", "tiktok", "ünï", "web", "", "1"]
    frame = pd.DataFrame({"customer_id": list("abcdefgh"),
                          "attr_channel": pd.array(values, dtype=dtype)})
    spec = InputSpec(numeric=[], categories={"attr_channel": levels}, calendar=False)
    expected = pd.Index(levels, dtype="string").get_indexer(
        frame["attr_channel"].astype("string")).astype(float)
    expected[expected < 0] = np.nan
    np.testing.assert_array_equal(spec.matrix(frame)[:, 0], expected.astype(np.float32))
    mixed = pd.DataFrame({"attr_channel": pd.array([1, np.nan, pd.NA, "web"], dtype=object)})
    np.testing.assert_array_equal(spec.matrix(mixed)[:, 0], [0.0, np.nan, np.nan, 2.0])


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


@pytest.mark.parametrize("objective", ["tweedie", "hurdle"])
def test_predict_columns_equals_predict(fitted, holdout, objective):
    """The server's pandas-free path gives exactly `predict`'s numbers, with missing values,
    an unseen category level and Python datetimes (as the online store returns them)."""
    model = fitted[objective]
    rows = holdout.head(300).copy()
    rows.loc[rows.index[:5], "attr_channel"] = "never-seen"
    rows.loc[rows.index[5:10], "attr_channel"] = None
    rows.loc[rows.index[10:15], "ipt_mean"] = np.nan
    expected = model.predict(rows)
    columns = {c: rows[c].tolist() for c in rows.columns}
    columns["cutoff"] = [ts.to_pydatetime() for ts in rows["cutoff"]]
    columns["ipt_mean"] = [None if pd.isna(v) else v for v in columns["ipt_mean"]]
    got = model.predict_columns(columns)
    assert list(got["customer_id"]) == list(expected["customer_id"])
    for column in ("ltv", "ltv_lo", "ltv_hi", "p_active"):
        np.testing.assert_array_equal(got[column], expected[column].to_numpy())
    with pytest.raises(SchemaError, match="recency"):
        model.predict_columns({k: v for k, v in columns.items() if k != "recency"})


def test_a_big_batch_uses_every_core_with_the_same_numbers(tweedie, holdout, monkeypatch):
    """Batches of PARALLEL_PREDICT_ROWS or more predict on all cores; rows are independent,
    so the numbers equal a one-thread prediction of the same rows."""
    from ltv.models.gbdt import model as gbdt_model

    assert gbdt_model.prediction_threads(10, 1) == 1
    assert gbdt_model.prediction_threads(10, 3) == 3
    assert gbdt_model.prediction_threads(gbdt_model.PARALLEL_PREDICT_ROWS, 1) >= 1
    threads_used = []
    original = gbdt_model.prediction_threads
    monkeypatch.setattr(gbdt_model, "prediction_threads",
                        lambda rows, n: threads_used.append(original(rows, n)) or 1)
    rows = holdout.sample(n=gbdt_model.PARALLEL_PREDICT_ROWS, replace=True, random_state=0)
    one_thread = tweedie.predict(rows)
    monkeypatch.setattr(gbdt_model, "prediction_threads", original)
    all_cores = tweedie.predict(rows)
    pd.testing.assert_frame_equal(all_cores, one_thread)
    assert threads_used == [original(len(rows), 1)]
