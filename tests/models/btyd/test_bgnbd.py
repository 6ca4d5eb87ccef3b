"""BG/NBD: published CDNOW fit, lifetimes' numbers, Monte Carlo checks, recovery, edge cases."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ltv.models.btyd import BetaGeo
from ltv.models.btyd.bgnbd import _loglik_grad
from ltv.models.btyd.data import compress

TRUE = {"r": 0.6, "alpha": 20.0, "a": 0.8, "b": 2.5}  # days
X = np.array([0, 1, 2, 7, 0, 1.0])
TX = np.array([0, 1.71, 30.43, 35, 0, 38])
T = np.array([38.86, 38.86, 38.86, 38.86, 10, 38.86])


@pytest.fixture(scope="module")
def fitted_cdnow(cdnow):
    return BetaGeo().fit(cdnow.x, cdnow.t_x, cdnow["T"])


def test_cdnow_reproduces_published_parameters_and_loglik(fitted_cdnow):
    p = fitted_cdnow.params_
    # Fader, Hardie & Lee (2005): r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, LL = -9582.4
    assert p["r"] == pytest.approx(0.243, abs=5e-4)
    assert p["alpha"] == pytest.approx(4.414, abs=5e-3)
    assert p["a"] == pytest.approx(0.793, abs=5e-4)
    assert p["b"] == pytest.approx(2.426, abs=5e-3)
    assert fitted_cdnow.loglik_ == pytest.approx(-9582.4, abs=0.05)
    assert fitted_cdnow.n_ == 2357 and fitted_cdnow.converged_


def test_cdnow_predictions_match_lifetimes(fitted_cdnow):
    # lifetimes 0.11.3 BetaGeoFitter on the same data (finite there, so comparable).
    m = fitted_cdnow
    assert np.allclose(m.expected_purchases(39, X, TX, T),
                       [0.194780857939, 0.203250624256, 1.225910424174, 4.387529317801,
                        0.49868041925, 0.717316762842], rtol=1e-5)
    assert np.allclose(m.probability_alive(X, TX, T),
                       [1.0, 0.212227388072, 0.726609136799, 0.843786907623, 1.0,
                        0.748997763503], rtol=1e-5)
    assert np.allclose(m.expected_purchases_new([1, 10, 39, 100]),
                       [0.053184736896, 0.431760989523, 1.195016228446, 2.15077341821],
                       rtol=1e-5)


def test_probability_alive_is_one_without_repeat_purchases(fitted_cdnow):
    p = fitted_cdnow.probability_alive([0, 0, 0], [0, 0, 0], [1.0, 38.0, 1e5])
    assert np.array_equal(p, [1.0, 1.0, 1.0])


def test_loglik_gradient_matches_finite_differences(cdnow):
    data = compress(cdnow.x.to_numpy(float), cdnow.t_x.to_numpy(float),
                    cdnow["T"].to_numpy(float), np.ones(len(cdnow)))
    p = np.array([0.3, 5.0, 0.9, 2.0])
    _, grad = _loglik_grad(p, data)
    for i in range(4):
        h = 1e-6 * p[i]
        hi, lo = p.copy(), p.copy()
        hi[i] += h
        lo[i] -= h
        fd = (_loglik_grad(hi, data)[0] - _loglik_grad(lo, data)[0]) / (2 * h)
        assert grad[i] == pytest.approx(fd, rel=1e-6)


def test_weights_equal_repeated_rows(cdnow):
    head = cdnow.iloc[:300]
    w = np.arange(300) % 3 + 1.0
    rep = head.loc[head.index.repeat(w.astype(int))]
    a = BetaGeo().fit(head.x, head.t_x, head["T"], weights=w)
    b = BetaGeo().fit(rep.x, rep.t_x, rep["T"])
    for k in a.params_:
        assert a.params_[k] == pytest.approx(b.params_[k], rel=1e-6)
    assert a.loglik_ == pytest.approx(b.loglik_, rel=1e-9)


def test_recovers_simulated_parameters(sim):
    d = sim.bgnbd(30_000, T=np.random.default_rng(1).uniform(30, 400, 30_000), seed=2, **TRUE)
    m = BetaGeo().fit(d["x"], d["t_x"], d["T"])
    for k, v in TRUE.items():
        assert m.params_[k] == pytest.approx(v, rel=0.15), k


def test_conditional_expectation_matches_simulated_holdout(sim):
    # Customers simulated with the true parameters over calibration + holdout: the model's
    # expectation given each calibration history must match the mean holdout count.
    d = sim.bgnbd(200_000, T=120.0, holdout=90.0, seed=5, **TRUE)
    m = BetaGeo.from_dict({"model": "BetaGeo", "params": TRUE})
    e = m.expected_purchases(90.0, d["x"], d["t_x"], d["T"])
    assert e.sum() == pytest.approx(d["x_holdout"].sum(), rel=0.02)
    for x in (0, 1, 3):  # by frequency group too
        g = d["x"] == x
        assert e[g].mean() == pytest.approx(d["x_holdout"][g].mean(), rel=0.06), x
    # P(any purchase) against the holdout.
    pa = m.probability_any_purchase(90.0, d["x"], d["t_x"], d["T"])
    assert pa.mean() == pytest.approx((d["x_holdout"] > 0).mean(), rel=0.03)


def test_posterior_predictive_draws_match_closed_forms():
    m = BetaGeo.from_dict({"model": "BetaGeo", "params": TRUE})
    draws = m.sample_purchases(60.0, X, TX, T, n_draws=200_000, rng=0)
    se = draws.std(axis=1) / np.sqrt(draws.shape[1])
    assert np.all(np.abs(draws.mean(axis=1) - m.expected_purchases(60.0, X, TX, T)) < 4 * se)
    p_any = m.probability_any_purchase(60.0, X, TX, T)
    assert np.allclose((draws > 0).mean(axis=1), p_any, atol=0.005)


@pytest.mark.parametrize("a, b", [(0.4, 0.3), (1.0, 0.8), (0.2, 5.0)])
def test_one_time_buyers_with_small_a_are_finite_and_right(a, b):
    # a < 1, a == 1 and a + b < 1: where the textbook formula divides by a - 1 or needs
    # 2F1 with c = a + b - 1 <= 0 (lifetimes returns inf / NaN at a == 1).
    m = BetaGeo.from_dict({"model": "BetaGeo", "params": {"r": 0.5, "alpha": 20.0, "a": a,
                                                            "b": b}})
    x, tx, t_cal = np.array([0, 1, 1, 5.0]), np.array([0, 10, 100, 150.0]), np.full(4, 200.0)
    e = m.expected_purchases(90, x, tx, t_cal)
    assert np.all(np.isfinite(e)) and np.all(e > 0)
    assert np.isfinite(m.expected_purchases_new(90.0))
    draws = m.sample_purchases(90, x, tx, t_cal, n_draws=200_000, rng=1)
    se = draws.std(axis=1) / np.sqrt(draws.shape[1])
    assert np.all(np.abs(draws.mean(axis=1) - e) < 4 * se + 1e-3)


def test_large_frequencies_do_not_overflow(sim):
    m = BetaGeo.from_dict({"model": "BetaGeo", "params": TRUE})
    x, tx, t_cal = np.array([5000.0, 5000.0]), np.array([9990.0, 2000.0]), np.full(2, 10000.0)
    e = m.expected_purchases(365, x, tx, t_cal)
    pa = m.probability_alive(x, tx, t_cal)
    ll = m.loglik(x, tx, t_cal)
    assert np.all(np.isfinite(e)) and np.all(np.isfinite(pa)) and np.all(np.isfinite(ll))
    # Alive and recent: close to 365 days at the posterior rate (r+x)/(alpha+T) ~ 0.5 a day,
    # less the few who drop out; the posterior predictive simulation agrees.
    assert 0.9 < e[0] / (365 * (0.6 + 5000) / (20 + 10000)) < 1.0
    draws = m.sample_purchases(365, x[:1], tx[:1], t_cal[:1], n_draws=100_000, rng=3)
    assert e[0] == pytest.approx(draws.mean(), rel=0.005)
    assert pa[1] < 1e-100  # 8000 silent days after buying every 2 days: surely gone
    d = sim.bgnbd(3000, T=10000.0, seed=4, **TRUE)
    fit = BetaGeo().fit(np.r_[x, d["x"]], np.r_[tx, d["t_x"]], np.r_[t_cal, d["T"]])
    assert fit.converged_ and np.isfinite(fit.loglik_)


def test_save_load_round_trip_gives_identical_outputs(fitted_cdnow):
    d = json.loads(json.dumps(fitted_cdnow.to_dict()))
    loaded = BetaGeo.from_dict(d)
    assert np.array_equal(loaded.expected_purchases(30, X, TX, T),
                          fitted_cdnow.expected_purchases(30, X, TX, T))
    assert np.array_equal(loaded.probability_alive(X, TX, T),
                          fitted_cdnow.probability_alive(X, TX, T))
    assert loaded.loglik_ == fitted_cdnow.loglik_


def test_penalizer_shrinks_log_parameters_towards_zero(cdnow):
    plain = BetaGeo().fit(cdnow.x, cdnow.t_x, cdnow["T"])
    pen = BetaGeo(penalizer=0.1).fit(cdnow.x, cdnow.t_x, cdnow["T"])
    norm = lambda m: sum(np.log(v) ** 2 for v in m.params_.values())  # noqa: E731
    assert norm(pen) < norm(plain)
    assert pen.loglik_ < plain.loglik_
