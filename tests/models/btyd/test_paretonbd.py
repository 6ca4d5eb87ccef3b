"""Pareto/NBD: published CDNOW fit, lifetimes' numbers, Monte Carlo checks, recovery, edges."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ltv.models.btyd import ParetoNBD
from ltv.models.btyd import paretonbd as pnbd
from ltv.models.btyd import special as sp
from ltv.models.btyd.base import BTYDModel
from ltv.models.btyd.data import compress, sort_pairs
from ltv.models.btyd.paretonbd import _loglik_grad

TRUE = {"r": 0.55, "alpha": 74.0, "s": 0.61, "beta": 82.0}  # CDNOW's, in days
X = np.array([0, 1, 2, 7, 0, 1.0])
TX = np.array([0, 1.71, 30.43, 35, 0, 38])
T = np.array([38.86, 38.86, 38.86, 38.86, 10, 38.86])


@pytest.fixture(scope="module")
def fitted_cdnow(cdnow):
    return ParetoNBD().fit(cdnow.x, cdnow.t_x, cdnow["T"])


def test_cdnow_reproduces_published_parameters_and_loglik(fitted_cdnow):
    p = fitted_cdnow.params_
    # Fader & Hardie (2005 note): r = 0.55, alpha = 10.58, s = 0.61, beta = 11.67, LL = -9595.0
    assert p["r"] == pytest.approx(0.553, abs=5e-3)
    assert p["alpha"] == pytest.approx(10.58, abs=5e-3)
    assert p["s"] == pytest.approx(0.606, abs=5e-3)
    assert p["beta"] == pytest.approx(11.67, abs=5e-3)
    assert fitted_cdnow.loglik_ == pytest.approx(-9595.0, abs=0.05)
    assert fitted_cdnow.converged_


def test_cdnow_predictions_match_lifetimes(fitted_cdnow):
    # lifetimes 0.11.3 ParetoNBDFitter on the same data.
    m = fitted_cdnow
    assert np.allclose(m.expected_purchases(39, X, TX, T),
                       [0.107059417604, 0.17097919091, 1.455132471698, 4.636206492428,
                        0.475356822469, 1.007838668856], rtol=1e-4)
    assert np.allclose(m.probability_alive(X, TX, T),
                       [0.295093861587, 0.167869134971, 0.869122113667, 0.936059048949,
                        0.642659703284, 0.989506410872], rtol=1e-4)
    assert np.allclose(m.expected_purchases_new([1, 10, 39, 100]),
                       [0.051007160337, 0.427796437832, 1.213413763181, 2.222131079611],
                       rtol=1e-4)


@pytest.mark.parametrize("params", [[0.3, 5.0, 0.9, 2.0], [0.55, 10.0, 0.6, 12.0],
                                    [2.0, 50.0, 0.3, 0.01]])  # the last hits quadrature rows
def test_loglik_gradient_matches_finite_differences(cdnow, params):
    d = cdnow.iloc[:600]
    data = compress(d.x.to_numpy(float), d.t_x.to_numpy(float), d["T"].to_numpy(float),
                    np.ones(len(d)))
    p = np.array(params)
    _, grad = _loglik_grad(p, data)
    for i in range(4):
        h = 1e-6 * p[i]
        hi, lo = p.copy(), p.copy()
        hi[i] += h
        lo[i] -= h
        fd = (_loglik_grad(hi, data)[0] - _loglik_grad(lo, data)[0]) / (2 * h)
        assert grad[i] == pytest.approx(fd, rel=1e-5)


def test_loglik_equals_the_textbook_form_where_that_is_safe(fitted_cdnow):
    # Fader-Hardie: L = C [E(T) + s/(r+s+x) A0], A0 from two 2F1s (alpha >= beta branch).
    from scipy.special import gammaln, hyp2f1

    r, alpha, s, beta = 0.55, 12.0, 0.6, 10.0
    m = ParetoNBD.from_dict({"model": "ParetoNBD",
                             "params": {"r": r, "alpha": alpha, "s": s, "beta": beta}})
    x, tx, t_cal = np.array([0, 2, 5.0]), np.array([0, 20, 30.0]), np.array([39, 39, 39.0])
    rsx = r + s + x

    def term(tau):
        return hyp2f1(rsx, s + 1, rsx + 1, (alpha - beta) / (alpha + tau)) / (alpha + tau) ** rsx

    a0 = term(tx) - term(t_cal)
    like = np.exp(gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)) * (
        (alpha + t_cal) ** -(r + x) * (beta + t_cal) ** -s + s / rsx * a0)
    assert np.allclose(m.loglik(x, tx, t_cal), np.log(like), rtol=1e-10)


def test_recovers_simulated_parameters(sim):
    d = sim.paretonbd(30_000, T=np.random.default_rng(1).uniform(30, 400, 30_000), seed=2,
                      **TRUE)
    m = ParetoNBD().fit(d["x"], d["t_x"], d["T"])
    for k, v in TRUE.items():
        assert m.params_[k] == pytest.approx(v, rel=0.15), k


def test_conditional_expectation_and_p_alive_match_simulation(sim):
    d = sim.paretonbd(200_000, T=120.0, holdout=90.0, seed=5, **TRUE)
    m = ParetoNBD.from_dict({"model": "ParetoNBD", "params": TRUE})
    e = m.expected_purchases(90.0, d["x"], d["t_x"], d["T"])
    assert e.sum() == pytest.approx(d["x_holdout"].sum(), rel=0.03)
    pa = m.probability_alive(d["x"], d["t_x"], d["T"])
    assert pa.mean() == pytest.approx(d["alive"].mean(), rel=0.01)
    for x in (0, 1, 3):
        g = d["x"] == x
        assert e[g].mean() == pytest.approx(d["x_holdout"][g].mean(), rel=0.08), x
        assert pa[g].mean() == pytest.approx(d["alive"][g].mean(), abs=0.01), x
    p_any = m.probability_any_purchase(90.0, d["x"], d["t_x"], d["T"])
    assert p_any.mean() == pytest.approx((d["x_holdout"] > 0).mean(), rel=0.03)


def test_posterior_predictive_draws_match_closed_forms():
    m = ParetoNBD.from_dict({"model": "ParetoNBD", "params": TRUE})
    draws = m.sample_purchases(60.0, X, TX, T, n_draws=200_000, rng=0)
    se = draws.std(axis=1) / np.sqrt(draws.shape[1])
    assert np.all(np.abs(draws.mean(axis=1) - m.expected_purchases(60.0, X, TX, T)) < 4 * se)
    assert np.allclose((draws > 0).mean(axis=1), m.probability_any_purchase(60.0, X, TX, T),
                       atol=0.005)


def test_extreme_parameter_ratios_stay_finite():
    # beta << alpha puts the hypergeometric argument within 1e-4 of 1 for one-time buyers.
    m = ParetoNBD.from_dict({"model": "ParetoNBD",
                             "params": {"r": 0.5, "alpha": 500.0, "s": 1.0, "beta": 0.01}})
    x, tx, t_cal = np.array([0, 1, 3.0]), np.array([0, 0.5, 20.0]), np.array([1.0, 30, 30])
    for v in (m.loglik(x, tx, t_cal), m.probability_alive(x, tx, t_cal),
              m.expected_purchases(90, x, tx, t_cal), m.probability_any_purchase(90, x, tx, t_cal)):
        assert np.all(np.isfinite(v))
    pa = m.probability_alive(x, tx, t_cal)
    assert np.all((pa >= 0) & (pa <= 1))
    # s == 1 exactly is the log-limit of the expectation formula.
    assert np.isfinite(m.expected_purchases_new(30.0))
    assert m.expected_purchases_new(30.0) == pytest.approx(0.5 / 500 * 0.01 * np.log1p(3000))


def test_large_frequencies_do_not_overflow(sim):
    m = ParetoNBD.from_dict({"model": "ParetoNBD", "params": TRUE})
    x, tx, t_cal = np.array([5000.0, 5000.0]), np.array([9990.0, 2000.0]), np.full(2, 10000.0)
    e = m.expected_purchases(365, x, tx, t_cal)
    pa = m.probability_alive(x, tx, t_cal)
    assert np.all(np.isfinite(e)) and np.all(np.isfinite(m.loglik(x, tx, t_cal)))
    # Dead-vs-alive odds ~ E[mu] (e^(10 lambda) - 1) / lambda ~ 0.018 for 10 silent days.
    assert 0.97 < pa[0] < 0.99 and pa[1] < 1e-100
    draws = m.sample_purchases(365, x[:1], tx[:1], t_cal[:1], n_draws=100_000, rng=3)
    assert e[0] == pytest.approx(draws.mean(), rel=0.005)
    d = sim.paretonbd(3000, T=10000.0, seed=4, **TRUE)
    fit = ParetoNBD().fit(np.r_[x, d["x"]], np.r_[tx, d["t_x"]], np.r_[t_cal, d["T"]])
    assert fit.converged_ and np.isfinite(fit.loglik_)


def test_save_load_round_trip_gives_identical_outputs(fitted_cdnow):
    loaded = ParetoNBD.from_dict(json.loads(json.dumps(fitted_cdnow.to_dict())))
    assert np.array_equal(loaded.expected_purchases(30, X, TX, T),
                          fitted_cdnow.expected_purchases(30, X, TX, T))
    assert np.array_equal(loaded.probability_alive(X, TX, T),
                          fitted_cdnow.probability_alive(X, TX, T))


def _exact_times_sample(sim, n, seed):
    """Customers with exact (not day-rounded) times: nearly every (x, t_x, T) row distinct."""
    T_cal = np.random.default_rng(seed).uniform(1, 730, n)
    return sim.paretonbd(n, T=T_cal, seed=seed + 1, **TRUE)


@pytest.mark.parametrize("params", [[0.55, 74.0, 0.61, 82.0], [0.8, 90.0, 1.3, 20.0],
                                    [0.5, 30.0, 1.0, 0.5]])  # the last: a few quadrature rows
def test_sorted_data_give_the_same_loglik_and_gradient(sim, params):
    # sort_pairs puts the pairs in long runs of equal x: the hypergeometric series becomes
    # one polynomial per run (special._phi_poly) instead of a row-wise sum. Same numbers.
    d = _exact_times_sample(sim, 10_000, seed=7)
    data = compress(d["x"], d["t_x"], d["T"], np.ones(d["x"].size))
    fast = sort_pairs(data)
    x_runs = np.diff(np.flatnonzero(np.r_[True, np.diff(fast.xtx_values[0]) != 0, True]))
    assert x_runs.max() >= 4 * sp._RUN_MIN  # the polynomial path is exercised
    assert fast.n_rows == data.n_rows and fast.w.sum() == data.w.sum()
    p = np.array(params)
    ll, grad = _loglik_grad(p, data)
    ll_s, grad_s = _loglik_grad(p, fast)
    assert ll_s == pytest.approx(ll, rel=1e-13)
    assert np.allclose(grad_s, grad, rtol=1e-10, atol=1e-9 * np.abs(grad).max())
    for i in range(4):
        h = 1e-6 * p[i]
        hi, lo = p.copy(), p.copy()
        hi[i] += h
        lo[i] -= h
        fd = (_loglik_grad(hi, fast)[0] - _loglik_grad(lo, fast)[0]) / (2 * h)
        assert grad_s[i] == pytest.approx(fd, rel=1e-5, abs=1e-6 * np.abs(grad_s).max())


@pytest.mark.parametrize("penalizer,weighted", [(0.0, False), (0.01, True)])
def test_subsample_warm_start_reaches_the_reference_fit(sim, monkeypatch, penalizer, weighted):
    # The fast path (fit on a subsample, then polish on all rows in whitened coordinates)
    # against the plain multi-start L-BFGS-B on the same data: same optimum.
    d = _exact_times_sample(sim, 40_000, seed=11)
    w = np.random.default_rng(3).integers(1, 4, d["x"].size) if weighted else None
    monkeypatch.setattr(pnbd, "_WARM_START_ROWS", 10**12)  # reference: plain L-BFGS-B only
    ref = ParetoNBD(penalizer=penalizer).fit(d["x"], d["t_x"], d["T"], weights=w)
    polished = []
    real_polish = BTYDModel._polish

    def spy(*args, **kwargs):
        res = real_polish(*args, **kwargs)
        polished.append(res)
        return res

    monkeypatch.setattr(BTYDModel, "_polish", staticmethod(spy))
    monkeypatch.setattr(pnbd, "_WARM_START_ROWS", 10_000)  # 40k rows -> a 5k-row subsample
    fast = ParetoNBD(penalizer=penalizer).fit(d["x"], d["t_x"], d["T"], weights=w)
    assert len(polished) == 1 and polished[0] is not None  # the fast path ran and was kept
    assert fast.converged_ and ref.converged_
    assert fast.n_iter_ < ref.n_iter_
    assert fast.loglik_ == pytest.approx(ref.loglik_, rel=1e-6)
    assert abs(fast.loglik_ - ref.loglik_) < 1e-6 * d["x"].size  # far tighter in practice
    for k in ref.params_:
        assert fast.params_[k] == pytest.approx(ref.params_[k], rel=1e-4), k


def test_warm_start_falls_back_when_the_polish_fails(sim, monkeypatch):
    d = _exact_times_sample(sim, 20_000, seed=13)
    ref = ParetoNBD().fit(d["x"], d["t_x"], d["T"])  # below _WARM_START_ROWS: plain path
    monkeypatch.setattr(pnbd, "_WARM_START_ROWS", 5_000)
    monkeypatch.setattr(BTYDModel, "_polish", staticmethod(lambda *a, **k: None))
    fb = ParetoNBD().fit(d["x"], d["t_x"], d["T"])
    assert fb.converged_
    assert fb.loglik_ == pytest.approx(ref.loglik_, rel=1e-12)
