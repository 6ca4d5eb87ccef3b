"""LightGBM's single-row fast API gives exactly `Booster.predict`'s numbers."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest

from ltv.models.gbdt.single_row import SingleRowPredictor


@pytest.fixture(scope="module")
def booster() -> lgb.Booster:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2_000, 6))
    X[rng.random(X.shape) < 0.1] = np.nan  # missing values take their own branch
    y = np.exp(X[:, 0]) * (rng.random(2_000) < 0.6) + np.nan_to_num(X[:, 1]) ** 2
    return lgb.train({"objective": "tweedie", "verbose": -1, "num_leaves": 15, "seed": 1},
                     lgb.Dataset(X, y), num_boost_round=40)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_equals_booster_predict_row_by_row(booster, dtype):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 6)).astype(dtype)
    X[rng.random(X.shape) < 0.2] = np.nan
    fast = SingleRowPredictor(booster, dtype=dtype)
    got = np.array([fast.predict(row) for row in X])
    np.testing.assert_array_equal(got, booster.predict(X))  # exp(score): the tweedie mean
    assert (got > 0).all()


def test_respects_the_best_iteration(booster):
    truncated = lgb.Booster(model_str=booster.model_to_string())
    truncated.best_iteration = 10
    row = np.zeros(6)
    assert SingleRowPredictor(truncated, dtype=np.float64).predict(row) == \
        booster.predict(row[None, :], num_iteration=10)[0] != booster.predict(row[None, :])[0]


def test_a_row_of_the_wrong_length_is_refused(booster):
    with pytest.raises(ValueError, match="6 features"):
        SingleRowPredictor(booster).predict(np.zeros(5))
