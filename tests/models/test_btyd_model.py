"""BTYDModel against a simulated shop that follows its own assumptions, plus its edge cases.

The shop is Pareto/NBD purchases with Gamma-Gamma spend (no seasonality, no channel or age
effects, 6% of lines returned); the simulator's ground truth gives each customer's expected
spend given their history and what they actually spent in the 90 days after the cutoff.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from ltv.errors import LTVError, SchemaError
from ltv.models import btyd_spend
from ltv.models.btyd import predictive_interval
from ltv.models.btyd_interval import spend_interval
from ltv.models.btyd_model import BTYDModel, rfm_arrays
from ltv.models.protocol import TrainingData
from ltv.models.training_data import build_training_data
from ltv.simulate import SimulationParams, simulate

HORIZON = 90
TRUE = {"r": 0.6, "alpha": 50.0, "s": 0.7, "beta": 300.0}  # SimulationParams' defaults
KINDS = ["bgnbd", "paretonbd"]


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    params = SimulationParams(seasonality=False, events=False,
                              channel_rate_multipliers=(1.0,) * 4,
                              channel_spend_multipliers=(1.0,) * 4,
                              age_band_spend_multipliers=(1.0,) * 5)
    out = tmp_path_factory.mktemp("clean_shop")
    simulate(6000, out, start="2022-01-01", end="2023-12-31", horizon_days=HORIZON, seed=3,
             params=params)
    data = build_training_data(None, "2024-01-01", HORIZON, transactions=out / "transactions",
                               max_windows=1)
    truth = pd.read_parquet(out / "ground_truth.parquet").set_index("customer_id")
    truth = truth.loc[data.snapshot["customer_id"].astype(str)]
    return data, truth


@pytest.fixture(scope="module", params=KINDS)
def fitted(request, shop):
    data, truth = shop
    model = BTYDModel(transaction_model=request.param).fit(data)
    return model, model.predict(data.snapshot), truth


# ---- accuracy against the simulation ------------------------------------------------------
def test_mean_ltv_matches_realized_and_expected_spend(fitted):
    _, pred, truth = fitted
    assert 0.85 < pred["ltv"].mean() / truth["future_spend"].mean() < 1.15
    expected = truth["expected_spend_given_history"].to_numpy()
    assert 0.92 < pred["ltv"].mean() / expected.mean() < 1.08
    assert np.corrcoef(pred["ltv"], expected)[0, 1] > 0.8


def test_p_active_is_calibrated(fitted):
    _, pred, truth = fitted
    active = (truth["future_purchases"] > 0).mean()
    assert abs(pred["p_active"].mean() - active) < 0.03


def test_interval_coverage(fitted):
    model, pred, truth = fitted
    spent = truth["future_spend"].to_numpy()
    covered = (pred["ltv_lo"] <= spent) & (spent <= pred["ltv_hi"])
    # Spend has an atom at 0, so the interval covers at least its level; each tail should
    # hold at most (1 - level) / 2 of the customers, and the upper one a fair part of it.
    assert model.interval_level - 0.05 < covered.mean() < 0.97
    assert 0.04 < (spent > pred["ltv_hi"]).mean() < 0.13
    assert (spent < pred["ltv_lo"]).mean() < 0.13


def test_pareto_nbd_recovers_the_true_parameters(shop):
    data, _ = shop
    model = BTYDModel(transaction_model="paretonbd").fit(data)
    for name, value in TRUE.items():  # times are back in days after the rescaled fit
        assert model.params_[name] == pytest.approx(value, rel=0.25), name
    assert model.spend_method_ == "gamma_gamma"
    assert model.net_ratio_ == pytest.approx(0.94, abs=0.02)  # 6% of lines are returned


def test_fast_interval_has_the_law_of_predictive_interval(fitted):
    """The grouped, alive-conditional simulation against the per-customer one."""
    model, _, _ = fitted
    tm = model.fitted_transaction_model()
    gg = btyd_spend.spend_model(model.spend_method_, model.spend_params_)
    x = np.array([0.0, 1.0, 3.0, 8.0])
    t_x = np.array([0.0, 48.0, 109.0, 300.0])
    T = np.array([65.0, 263.0, 178.0, 320.0])
    m = np.array([0.0, 81.0, 19.0, 60.0])
    spend = btyd_spend.expected_spend(model.spend_method_, model.spend_params_, x, m)
    ref = predictive_interval(tm, gg, x, t_x, T, m, HORIZON, 0.8, n_draws=40_000, seed=1)
    lo, hi = spend_interval(tm, gg, x, t_x, T, m, spend, HORIZON, 0.8, 40_000, 2)
    np.testing.assert_allclose(hi, ref["spend_hi"], rtol=0.05)
    np.testing.assert_allclose(lo, ref["spend_lo"], rtol=0.05, atol=0.5)


def test_refit_is_deterministic(fitted, shop):
    model, pred, _ = fitted
    again = BTYDModel(**model.get_params()).fit(shop[0]).predict(shop[0].snapshot)
    pd.testing.assert_frame_equal(again, pred, check_exact=True)


# ---- options ------------------------------------------------------------------------------
def test_discounting_lowers_ltv_and_keeps_the_interval_around_it(shop, fitted):
    model, pred, _ = fitted
    data, _ = shop
    params = {**model.get_params(), "discount_rate_annual": 0.2}
    disc = BTYDModel(**params).fit(data).predict(data.snapshot)
    ratio = disc["ltv"] / pred["ltv"]
    # 90 days at 20% a year, discounted in 30-day steps: between 1.2^-0.25 and 1.2^-(30/365).
    assert (ratio > 1.2 ** -0.25 - 1e-9).all() and (ratio < 1.2 ** -(30 / 365.25)).all()
    assert (disc["ltv_lo"] <= disc["ltv"]).all() and (disc["ltv"] <= disc["ltv_hi"]).all()
    np.testing.assert_array_equal(disc["p_active"], pred["p_active"])


def test_fits_on_the_latest_window_without_a_snapshot(shop):
    data, _ = shop
    no_snapshot = TrainingData(windows=data.windows, snapshot=None,
                               horizon_days=data.horizon_days, cutoff=data.cutoff)
    model = BTYDModel().fit(no_snapshot)
    assert model.n_customers_ == len(data.latest_window)
    assert np.isfinite(model.predict(data.snapshot)["ltv"]).all()


@pytest.mark.parametrize("name, value", [("transaction_model", "mbgnbd"), ("penalizer", -1.0),
                                         ("penalizer", "0.1"),
                                         ("interval_level", 1.0), ("interval_draws", 0),
                                         ("discount_rate_annual", -2.0), ("seed", -1)])
def test_invalid_hyperparameters_are_named_at_fit(shop, name, value):
    with pytest.raises(LTVError, match=name):
        BTYDModel(**{name: value}).fit(shop[0])


# ---- messy inputs -------------------------------------------------------------------------
def test_inconsistent_inputs_are_sanitized(fitted):
    model, _, _ = fitted
    clean = pd.DataFrame({"customer_id": ["a", "b", "c", "d"],
                          "frequency": [0.0, 2.0, 3.0, 0.0], "recency": [0.0, 50.0, 40.0, 0.0],
                          "T": [30.0, 50.0, 80.0, 0.0], "monetary_value": [0.0, 20.0, 35.0, 0.0]})
    messy = clean.copy()
    messy["recency"] = [12.0, 70.0, 40.0, -3.0]  # recency with frequency 0; recency > T
    messy["frequency"] = [-1.0, 2.0, 3.2, 0.0]  # negative; not a whole number
    messy["T"] = [30.0, 50.0, 80.0, -2.0]  # negative
    pd.testing.assert_frame_equal(model.predict(messy), model.predict(clean))


def test_missing_values_are_refused_with_the_column(fitted):
    model, _, _ = fitted
    frame = pd.DataFrame({"customer_id": ["a", "b"], "frequency": [1.0, 2.0],
                          "recency": [5.0, None], "T": [30.0, 40.0],
                          "monetary_value": [10.0, 20.0]})
    with pytest.raises(SchemaError) as err:
        model.predict(frame)
    assert err.value.column == "recency" and err.value.row == 1


def _summary_data(monetary: np.ndarray, seed: int = 0) -> TrainingData:
    rng = np.random.default_rng(seed)
    n = monetary.size
    T = rng.uniform(30, 400, n).round()
    x = rng.poisson(3, n).astype(float)
    t_x = np.where(x > 0, (T * rng.uniform(0, 1, n)).round(), 0.0)
    frame = pd.DataFrame({"customer_id": [f"c{i}" for i in range(n)], "frequency": x,
                          "recency": t_x, "T": T, "monetary_value": np.where(x > 0, monetary, 0)})
    return TrainingData(windows=frame.assign(cutoff=pd.Timestamp("2024-01-01")),
                        snapshot=frame, horizon_days=90, cutoff=pd.Timestamp("2024-01-01"))


def test_heavy_tailed_spend_falls_back_instead_of_crashing():
    # Pareto order values with tail index 0.5: the Gamma-Gamma fit gives q <= 1.
    rng = np.random.default_rng(0)
    data = _summary_data(10.0 * (1.0 - rng.random(2000)) ** -2.0)
    with pytest.warns(RuntimeWarning, match="degenerate"):
        model = BTYDModel().fit(data)
    assert model.spend_method_ != "gamma_gamma"
    pred = model.predict(data.snapshot)
    assert np.isfinite(pred[["ltv", "ltv_lo", "ltv_hi", "p_active"]].to_numpy()).all()


def test_capped_gamma_gamma_caps_at_predict_time_too(monkeypatch):
    rng = np.random.default_rng(1)
    data = _summary_data(rng.gamma(4.0, 15.0, 2000))
    real = btyd_spend._try_gamma_gamma
    calls = []

    def first_fails(*args):
        calls.append(1)
        return None if len(calls) == 1 else real(*args)

    monkeypatch.setattr(btyd_spend, "_try_gamma_gamma", first_fails)
    with pytest.warns(RuntimeWarning, match="capped"):
        model = BTYDModel().fit(data)
    assert model.spend_method_ == "gamma_gamma_capped"
    cap = model.spend_params_["cap"]
    row = data.snapshot[data.snapshot["frequency"] > 0].iloc[[0, 0]].copy()
    row["monetary_value"] = [cap, 100 * cap]
    pred = model.predict(row)
    assert pred["ltv"].iloc[0] == pytest.approx(pred["ltv"].iloc[1], rel=1e-12)


def test_no_repeat_customers_is_a_clear_error():
    data = _summary_data(np.full(50, 10.0))
    data.snapshot["frequency"] = 0.0
    data.snapshot["recency"] = 0.0
    data.snapshot["monetary_value"] = 0.0
    with pytest.raises(LTVError, match="repeat purchase"):
        BTYDModel().fit(data)


def test_rfm_arrays_rejects_text():
    frame = pd.DataFrame({"frequency": ["1", "two"], "recency": [1.0, 2.0], "T": [3.0, 4.0],
                          "monetary_value": [1.0, 1.0]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(SchemaError, match="frequency"):
            rfm_arrays(frame)
