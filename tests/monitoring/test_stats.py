"""The drift statistics against independent references: PSI by hand, KS against scipy's
two-sample test on the raw rows, critical values against simulated null distributions."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sp

from ltv.models.reference import bin_edges, bin_index, bin_shares, numeric_profile
from ltv.monitoring import stats


def test_psi_matches_a_hand_computation():
    ref, cur = [0.5, 0.3, 0.2], [0.4, 0.4, 0.2]
    by_hand = (0.4 - 0.5) * math.log(0.4 / 0.5) + (0.4 - 0.3) * math.log(0.4 / 0.3)
    assert stats.psi(ref, cur) == pytest.approx(by_hand, rel=1e-12)
    assert stats.psi(ref, ref) == 0.0
    # an empty bin is floored at EPSILON instead of giving an infinite PSI
    empty = (0.5 - stats.EPSILON) * math.log(0.5 / stats.EPSILON)
    assert stats.psi([0.5, 0.5, 0.0], [0.5, 0.0, 0.5]) == pytest.approx(2 * empty)


def test_psi_refuses_different_bins():
    with pytest.raises(ValueError, match="same bins"):
        stats.psi([0.5, 0.5], [1.0])


SAMPLES = {
    "normal": lambda rng, n: rng.normal(10, 3, n),
    "lognormal": lambda rng, n: rng.lognormal(3, 1, n),
    "counts": lambda rng, n: rng.poisson(2.0, n).astype(float),
    "zero-inflated": lambda rng, n: np.where(rng.random(n) < 0.7, 0.0, rng.gamma(2, 30, n)),
    "capped": lambda rng, n: np.minimum(rng.exponential(1, n), 1.5),  # an atom at the max
}


@pytest.mark.parametrize("kind", sorted(SAMPLES))
@pytest.mark.parametrize("shift", [1.0, 1.15, 2.0])
def test_ks_from_quantiles_matches_scipy_on_raw_rows(kind, shift):
    rng = np.random.default_rng(7)
    reference = SAMPLES[kind](rng, 4000)
    current = SAMPLES[kind](rng, 2500) * shift
    quantiles = numeric_profile(reference)["quantiles"]
    exact = sp.ks_2samp(reference, current).statistic
    # the 101 quantiles pin the reference CDF to within 1/100 where it is continuous
    assert stats.ks_from_quantiles(quantiles, current) == pytest.approx(exact, abs=0.011)


def test_reference_cdf_steps_at_atoms():
    q = [0, 0, 0, 1, 2, 3, 3, 3, 3, 5, 5]  # p = 0, 0.1, ..., 1
    x = np.array([-1, 0, 0.5, 3, 4, 5, 6])
    np.testing.assert_allclose(stats.reference_cdf(q, x, "right"),
                               [0, 0.2, 0.25, 0.8, 0.85, 1, 1])
    np.testing.assert_allclose(stats.reference_cdf(q, x, "left"),
                               [0, 0, 0.25, 0.5, 0.85, 0.9, 1])


def test_ks_critical_is_the_asymptotic_level():
    n, m = 3000, 1200
    d = stats.ks_critical(n, m, 0.01)
    assert sp.kstwobign.sf(d * math.sqrt(n * m / (n + m))) == pytest.approx(0.01, rel=1e-6)


def test_psi_critical_holds_its_level_on_simulated_null_samples():
    """PSI of two independent samples of one distribution exceeds psi_critical(alpha) in
    about alpha of the draws (the chi-square approximation)."""
    rng = np.random.default_rng(3)
    n, m, alpha, draws = 2000, 800, 0.05, 1500
    edges = bin_edges(rng.lognormal(0, 1, 200_000))  # deciles of the true distribution
    shares = bin_shares(edges, rng.lognormal(0, 1, 2_000_000))
    limit = stats.psi_critical(len(shares), n, m, alpha)
    exceed = np.mean([stats.psi(bin_shares(edges, rng.lognormal(0, 1, n)),
                                bin_shares(edges, rng.lognormal(0, 1, m))) > limit
                      for _ in range(draws)])
    assert 0.03 < exceed < 0.075, exceed
    assert shares.tolist() == pytest.approx([0.1] * 10, abs=0.002)


def test_missing_noise_holds_its_level_on_simulated_null_samples():
    rng = np.random.default_rng(5)
    n, m, p, alpha = 1500, 600, 0.3, 0.05
    limit = stats.missing_noise(p, n, m, alpha)
    jumps = np.abs(rng.binomial(n, p, 20_000) / n - rng.binomial(m, p, 20_000) / m)
    assert np.mean(jumps > limit) == pytest.approx(alpha, abs=0.01)


def test_bin_edges_give_atoms_their_own_bin_and_split_the_rest_into_deciles():
    rng = np.random.default_rng(1)
    values = np.concatenate([np.zeros(9000), rng.lognormal(3, 1, 1000)])  # spend_7d-like
    edges = bin_edges(values)
    assert edges[0] == 0.0 and len(edges) == 10  # the atom, then 9 deciles of the positives
    shares = bin_shares(edges, values)
    assert shares[0] == pytest.approx(0.9)
    assert shares[1:].tolist() == pytest.approx([0.01] * 10, abs=0.0011)
    # right-closed bins: a value equal to an edge falls in the bin below it
    assert bin_index(edges, np.array([0.0, edges[1], np.nextafter(edges[1], 1e9)])).tolist() \
        == [0, 1, 2]


def test_bin_edges_of_degenerate_columns():
    assert bin_edges(np.array([np.nan, np.inf])) == []
    assert bin_edges(np.full(50, 4.0)) == [4.0]  # one value: (-inf, 4], (4, inf)
    assert bin_edges(np.array([0.0, 1.0] * 50)) == [0.0]  # a binary column: two bins
