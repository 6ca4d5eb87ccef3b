"""The ZILN distribution's mean and quantiles against scipy and a simulation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from ltv.models.deep.mixture import SIGMA_CAP, SIGMA_FLOOR, ZILN


def _dist(p, mu, sigma):
    return ZILN(np.atleast_1d(np.asarray(p, float)), np.atleast_1d(np.asarray(mu, float)),
                np.atleast_1d(np.asarray(sigma, float)))


def test_from_logits_applies_sigmoid_identity_and_clipped_softplus():
    dist = ZILN.from_logits(np.array([[0.0, 1.5, 0.0], [2.0, -1.0, -40.0], [0.0, 0.0, 9.0]]))
    np.testing.assert_allclose(dist.p, [0.5, 1 / (1 + np.exp(-2.0)), 0.5])
    np.testing.assert_allclose(dist.mu, [1.5, -1.0, 0.0])
    np.testing.assert_allclose(dist.sigma, [np.log(2.0), SIGMA_FLOOR, SIGMA_CAP])


def test_mean_matches_closed_form_and_simulation():
    dist = _dist([0.3, 0.9], [1.0, -0.5], [0.8, 1.2])
    closed = np.array([0.3 * np.exp(1.0 + 0.32), 0.9 * np.exp(-0.5 + 0.72)])
    np.testing.assert_allclose(dist.mean(), closed, rtol=1e-12)
    rng = np.random.default_rng(0)
    n = 2_000_000
    for i in range(2):
        draws = (rng.random(n) < dist.p[i]) * rng.lognormal(dist.mu[i], dist.sigma[i], n)
        assert draws.mean() == pytest.approx(closed[i], rel=0.01)


@pytest.mark.parametrize("q", [0.05, 0.5, 0.69, 0.71, 0.9, 0.99])
def test_quantile_of_the_mixture_matches_scipy(q):
    p, mu, sigma = 0.3, 1.0, 0.8  # P(Y = 0) = 0.7
    got = _dist(p, mu, sigma).quantile(q)[0]
    if q <= 0.7:
        assert got == 0.0
    else:
        expected = stats.lognorm(s=sigma, scale=np.exp(mu)).ppf((q - 0.7) / p)
        assert got == pytest.approx(expected, rel=1e-9)
        # The mixture's CDF at its quantile is q.
        cdf = 0.7 + p * stats.lognorm(s=sigma, scale=np.exp(mu)).cdf(got)
        assert cdf == pytest.approx(q, abs=1e-9)


def test_quantiles_are_monotone_and_finite_for_extreme_parameters():
    dist = ZILN.from_logits(np.array([[40.0, 30.0, 5.0], [-40.0, -30.0, -40.0],
                                      [0.0, 0.0, 0.0]]))
    lo, hi = dist.quantile(0.1), dist.quantile(0.9)
    assert np.isfinite(lo).all() and np.isfinite(hi).all()
    assert (lo <= hi).all()
    with pytest.raises(ValueError):
        dist.quantile(1.0)
