"""CLV and predictive intervals: telescoping, discounting, posterior-predictive calibration."""

from __future__ import annotations

import numpy as np
import pytest

from ltv.errors import LTVError
from ltv.models.btyd import (BetaGeo, GammaGamma, ParetoNBD, customer_lifetime_value,
                             predictive_interval)
from ltv.models.btyd.clv import discount_steps

BG = BetaGeo.from_dict({"model": "BetaGeo",
                        "params": {"r": 0.6, "alpha": 20.0, "a": 0.8, "b": 2.5}})
PN = ParetoNBD.from_dict({"model": "ParetoNBD",
                          "params": {"r": 0.55, "alpha": 74.0, "s": 0.61, "beta": 82.0}})
GG = GammaGamma.from_dict({"model": "GammaGamma",
                           "params": {"p": 6.25, "q": 3.74, "v": 15.44}})
X = np.array([0, 1, 4, 10.0])
TX = np.array([0, 30, 100, 170.0])
T = np.array([200.0, 200, 200, 200])
M = np.array([0, 25.0, 40, 12])


@pytest.mark.parametrize("model", [BG, PN])
def test_undiscounted_clv_is_expected_purchases_times_spend(model):
    clv = customer_lifetime_value(model, GG, X, TX, T, M, horizon_days=100, step_days=30)
    expected = model.expected_purchases(100, X, TX, T) * GG.conditional_expected_spend(X, M)
    assert np.allclose(clv, expected, rtol=1e-12)


@pytest.mark.parametrize("model", [BG, PN])
def test_discounted_clv_matches_explicit_sum(model):
    clv = customer_lifetime_value(model, GG, X, TX, T, M, horizon_days=365,
                                  discount_rate_annual=0.2, step_days=30)
    spend = GG.conditional_expected_spend(X, M)
    manual, prev = np.zeros(4), np.zeros(4)
    for i in range(1, 14):  # 12 steps of 30 days, then one of 5
        end = min(30.0 * i, 365.0)
        cum = model.expected_purchases(end, X, TX, T)
        manual += (cum - prev) * spend / 1.2 ** (end / 365.25)
        prev = cum
    assert np.allclose(clv, manual, rtol=1e-12)
    undiscounted = customer_lifetime_value(model, GG, X, TX, T, M, horizon_days=365)
    assert np.all(clv < undiscounted) and np.all(clv > undiscounted / 1.2)


def test_spend_model_none_uses_monetary_value():
    clv = customer_lifetime_value(BG, None, X, TX, T, M, horizon_days=90)
    assert np.allclose(clv, BG.expected_purchases(90, X, TX, T) * M)


def test_discount_steps_and_argument_errors():
    ends, f = discount_steps(100, 30, 0.1)
    assert np.array_equal(ends, [30, 60, 90, 100])
    assert np.allclose(f, 1.1 ** -(ends / 365.25))
    for kwargs in ({"horizon_days": 0}, {"horizon_days": 90, "step_days": -1},
                   {"horizon_days": 90, "discount_rate_annual": -1.5}):
        with pytest.raises(LTVError):
            customer_lifetime_value(BG, GG, X, TX, T, M, **kwargs)


@pytest.mark.parametrize("model", [BG, PN])
def test_interval_draws_are_consistent_with_the_closed_form(model):
    out = predictive_interval(model, GG, X, TX, T, M, horizon_days=90, level=0.8,
                              n_draws=40_000, seed=1)
    clv = customer_lifetime_value(model, GG, X, TX, T, M, horizon_days=90)
    assert np.allclose(out["spend_mean"], clv, rtol=0.05)
    assert np.all(out["spend_lo"] <= out["spend_hi"])
    assert np.all(out["purchases_lo"] <= out["purchases_hi"])
    assert out["spend_hi"][3] > out["spend_hi"][0]  # the frequent buyer's range is wider


def test_intervals_cover_simulated_holdout_spend(sim):
    # Customers from the true model: the 80% posterior-predictive interval of each one's
    # holdout spend must hold it for at least ~80% of customers (more, since the lower end
    # is usually 0: most customers buy nothing in 120 days), and the upper end must be
    # exceeded about (1 - level) / 2 = 10% of the time: neither too narrow nor trivially wide.
    d = sim.bgnbd(3000, T=np.random.default_rng(0).uniform(60, 300, 3000), holdout=120.0,
                  seed=7, r=0.6, alpha=20.0, a=0.8, b=2.5)
    zbar, future = sim.spend(d["x"], x_holdout=d["x_holdout"], seed=8, p=6.25, q=3.74, v=15.44)
    out = predictive_interval(BG, GG, d["x"], d["t_x"], d["T"], zbar, horizon_days=120,
                              level=0.8, n_draws=1000, seed=3)
    covered = (future >= out["spend_lo"]) & (future <= out["spend_hi"])
    assert 0.85 <= covered.mean() <= 0.95
    assert 0.06 <= (future > out["spend_hi"]).mean() <= 0.125
    assert covered[future > 0].mean() >= 0.6  # among those who did buy, most fall inside
    assert out["spend_mean"].sum() == pytest.approx(future.sum(), rel=0.08)
    counts = (d["x_holdout"] >= out["purchases_lo"]) & (d["x_holdout"] <= out["purchases_hi"])
    assert counts.mean() >= 0.85


def test_interval_argument_errors():
    with pytest.raises(LTVError, match="level"):
        predictive_interval(BG, GG, X, TX, T, M, horizon_days=90, level=1.5)
    with pytest.raises(LTVError, match="n_draws"):
        predictive_interval(BG, GG, X, TX, T, M, horizon_days=90, n_draws=0)


@pytest.mark.parametrize("model", [BG, PN])
def test_expected_purchases_curve_equals_one_call_per_time(model):
    times = np.array([0.0, 7.0, 30.0, 365.0, 2000.0])
    curve = model.expected_purchases_curve(times, X, TX, T)
    assert curve.shape == (4, 5)
    for j, t in enumerate(times):
        assert np.allclose(curve[:, j], model.expected_purchases(t, X, TX, T), rtol=1e-13,
                           atol=0)
    assert np.all(np.diff(curve, axis=1) >= 0)
