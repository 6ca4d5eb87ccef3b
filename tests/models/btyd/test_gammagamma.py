"""Gamma-Gamma: published CDNOW fit, lifetimes' numbers, recovery, posterior draws, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ltv.errors import LTVError
from ltv.models.btyd import GammaGamma

TRUE = {"p": 6.25, "q": 3.74, "v": 15.44}


@pytest.fixture(scope="module")
def fitted_cdnow(cdnow):
    return GammaGamma().fit(cdnow.x, cdnow.zbar)


def test_cdnow_reproduces_published_parameters(fitted_cdnow):
    p = fitted_cdnow.params_
    # Fader, Hardie & Lee (2005, "RFM and CLV"): p = 6.25, q = 3.74, v = 15.44
    assert p["p"] == pytest.approx(6.25, abs=5e-3)
    assert p["q"] == pytest.approx(3.74, abs=1e-2)
    assert p["v"] == pytest.approx(15.44, abs=1e-2)
    assert fitted_cdnow.n_ == 946  # customers with a repeat purchase
    assert fitted_cdnow.loglik_ == pytest.approx(-4055.92, abs=0.01)  # lifetimes 0.11.3


def test_expected_spend_matches_lifetimes_and_population_mean(fitted_cdnow):
    e = fitted_cdnow.conditional_expected_spend([0, 1, 2, 10], [0, 20.0, 35, 50])
    assert np.allclose(e, [35.171002152507, 24.629861822702, 35.03079153509, 49.376086680504],
                       rtol=1e-5)
    p = fitted_cdnow.params_
    assert e[0] == pytest.approx(p["p"] * p["v"] / (p["q"] - 1))


def test_rows_without_usable_spend_do_not_change_the_fit(cdnow):
    a = GammaGamma().fit(cdnow.x, cdnow.zbar)
    x = np.r_[cdnow.x, 3, 0, 2]
    m = np.r_[cdnow.zbar, -5.0, 40.0, 0.0]  # a net return, a one-time buyer, a zero
    b = GammaGamma().fit(x, m)
    assert a.params_ == b.params_
    # A non-positive mean spend is treated as "no information": the population mean.
    assert b.conditional_expected_spend([3], [-5.0])[0] == pytest.approx(
        b.conditional_expected_spend([0], [0.0])[0])


def test_recovers_simulated_parameters(sim):
    x = np.random.default_rng(0).integers(1, 8, 30_000).astype(float)
    zbar = sim.spend(x, seed=1, **TRUE)
    m = GammaGamma().fit(x, zbar)
    for k, v in TRUE.items():
        assert m.params_[k] == pytest.approx(v, rel=0.15), k


def test_expected_spend_matches_simulated_future_spend(sim):
    x = np.random.default_rng(2).integers(0, 6, 200_000).astype(float)
    xh = np.ones_like(x)  # one future transaction each
    zbar, future = sim.spend(x, x_holdout=xh, seed=3, **TRUE)
    m = GammaGamma.from_dict({"model": "GammaGamma", "params": TRUE})
    e = m.conditional_expected_spend(x, zbar)
    for k in (0, 1, 5):
        g = x == k
        assert e[g].mean() == pytest.approx(future[g].mean(), rel=0.03), k


def test_sample_spend_mean_matches_closed_form():
    m = GammaGamma.from_dict({"model": "GammaGamma", "params": TRUE})
    n = np.tile([0, 1, 3], (3, 20_000)).reshape(3, -1)  # 0, 1 and 3 purchases per draw
    draws = m.sample_spend(n, [0, 2, 8], [0, 30.0, 12.0], rng=0)
    assert np.all(draws[n == 0] == 0)
    e = m.conditional_expected_spend([0, 2, 8], [0, 30.0, 12.0])
    assert np.allclose(draws.mean(axis=1), e * n.mean(axis=1), rtol=0.03)


def test_infinite_population_mean_is_an_error():
    m = GammaGamma.from_dict({"model": "GammaGamma", "params": {"p": 2.0, "q": 0.8, "v": 5.0}})
    assert np.isfinite(m.conditional_expected_spend([3], [10.0])).all()
    with pytest.raises(LTVError, match="q = 0.8"):
        m.conditional_expected_spend([0], [0.0])


def test_fit_without_repeat_buyers_is_an_error():
    with pytest.raises(LTVError, match="nothing to fit"):
        GammaGamma().fit([0, 0, 1], [0, 0, -3.0])


def test_save_load_round_trip(fitted_cdnow):
    loaded = GammaGamma.from_dict(json.loads(json.dumps(fitted_cdnow.to_dict())))
    x, m = [0, 1, 4], [0, 20.0, 33.0]
    assert np.array_equal(loaded.conditional_expected_spend(x, m),
                          fitted_cdnow.conditional_expected_spend(x, m))
