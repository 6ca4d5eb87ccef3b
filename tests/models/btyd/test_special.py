"""The stable special functions against independent references (quadrature, other sums)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, special

from ltv.models.btyd import special as sp


def tail_reference(ea, A, eb, B, tau):
    """log int_tau^inf (A+u)^-ea (B+u)^-eb du by brute-force quad on u, on a geometric grid
    of break points (so that sharp peaks near tau are not missed) up to U = 1e13 scales, plus
    the far tail in closed form: int_U^inf ~ (M+U)^(1-e) / (e-1), e = ea+eb, M = (ea A + eb B)/e,
    whose relative error O((A/U)^2) is far below the tolerance."""
    def f(u):
        return np.exp(-ea * np.log((A + u) / (A + tau)) - eb * np.log((B + u) / (B + tau)))

    small, big = min(A, B) + tau, max(A, B) + tau
    edges = [tau] + [tau + small * 10.0 ** k for k in range(-6, 1)]
    edges += [tau + small + (big * 1e13 - small) * 10.0 ** k for k in range(-25, 1)]
    total = sum(integrate.quad(f, lo, hi, epsabs=0, epsrel=1e-13, limit=500)[0]
                for lo, hi in zip(edges[:-1], edges[1:]))
    e, U = ea + eb, edges[-1]
    far = np.exp((1 - e) * np.log((ea * A + eb * B) / e + U) + ea * np.log(A + tau)
                 + eb * np.log(B + tau)) / (e - 1)
    return np.log(total + far) - ea * np.log(A + tau) - eb * np.log(B + tau)


def bg_jsum(r, alpha, a, b, t):
    """BG/NBD E[X(t)] = sum_j P(N(t) >= j) E[(1-p)^(j-1)]: positive terms, a different
    derivation from the hypergeometric series."""
    z = t / (alpha + t)
    j = np.arange(1, 400_000, dtype=float)
    return float(np.sum(special.betainc(j, r, z)
                        * np.exp(special.betaln(a, b + j - 1) - special.betaln(a, b))))


TAIL_CASES = [
    # (ea, A, eb, B, tau): Pareto/NBD-like, swapped scales, huge exponent, z near 1, tau 0
    (1.55, 74.0, 0.61, 81.7, 300.0),
    (0.55, 10.6, 1.61, 11.7, 0.0),
    (5001.5, 30.0, 0.6, 80.0, 10000.0),
    (2540.4, 0.135, 0.0725, 0.065, 0.0),
    (0.3, 500.0, 1.2, 0.01, 0.0),   # z ~ 1 - 2e-5: quadrature path
    (1.2, 0.01, 0.4, 500.0, 2.0),   # swapped, z ~ 0.996: quadrature path
    (0.5, 50.0, 2.0, 1.0, 0.0),     # integer-ish exponents where scipy's hyp2f1 misbehaves
]


@pytest.mark.parametrize("case", TAIL_CASES)
def test_log_tail_integral_matches_quadrature(case):
    got = sp.log_tail_integral(*case)
    assert got == pytest.approx(tail_reference(*case), abs=1e-8, rel=1e-10)


@pytest.mark.parametrize("case", TAIL_CASES)
def test_log_tail_integral_gradient_matches_finite_differences(case):
    res = sp.log_tail_integral(*case, grad=True)
    for i in range(4):
        h = 1e-6 * case[i]
        hi, lo = list(case), list(case)
        hi[i] += h
        lo[i] -= h
        fd = (sp.log_tail_integral(*hi) - sp.log_tail_integral(*lo)) / (2 * h)
        assert res[i + 1] == pytest.approx(fd, rel=1e-5, abs=1e-7 * max(1.0, abs(fd))), i


def test_log_tail_integral_vectorised_equals_scalar_calls():
    ea = np.array([1.5, 3.0, 0.7, 200.0])
    A = np.array([5.0, 0.01, 80.0, 3.0])
    eb = np.array([0.6, 1.6, 2.5, 0.2])
    B = np.array([8.0, 50.0, 1.0, 3.0])
    tau = np.array([3.0, 0.0, 10.0, 0.0])
    vec = sp.log_tail_integral(ea, A, eb, B, tau, grad=True)
    for i in range(4):
        one = sp.log_tail_integral(ea[i], A[i], eb[i], B[i], tau[i], grad=True)
        assert np.allclose([v[i] for v in vec], one, rtol=1e-12)


def test_series_and_quadrature_paths_agree_either_side_of_the_switch(monkeypatch):
    # Same inputs through the series (cut-off moved to 1) and the quadrature (cut-off 0).
    ea, A, eb, B, tau = 12.0, 100.0, 0.7, 2.0, 1.0  # z = 0.97
    monkeypatch.setattr(sp, "Z_SERIES_MAX", 1.0)
    series = sp.log_tail_integral(ea, A, eb, B, tau, grad=True)
    monkeypatch.setattr(sp, "Z_SERIES_MAX", 0.0)
    quad = sp.log_tail_integral(ea, A, eb, B, tau, grad=True)
    assert np.allclose(series, quad, rtol=1e-9)


def test_hyp2f1_a1_matches_scipy_in_its_safe_range():
    rng = np.random.default_rng(0)
    m = rng.uniform(0.05, 50, 500)
    c = m + rng.uniform(0.05, 5, 500)
    z = rng.uniform(0, 0.9, 500)
    assert np.allclose(np.exp(sp.hyp2f1_a1(m, c, z)), special.hyp2f1(1.0, m, c, z), rtol=1e-12)


def test_hyp2f1_a1_polynomial_runs_match_the_row_wise_series_and_scipy():
    # Runs of >= _RUN_MIN rows sharing (m, c) take the Horner path, the short runs and the
    # single rows between them the row-wise sum; both must agree with each other and scipy.
    rng = np.random.default_rng(1)
    mc = [(0.55, 2.16), (1.61, 3.2), (50.5, 52.2), (1e-3, 1e-3 + 1e-6), (3.0, 3.5)]
    sizes = [sp._RUN_MIN, 3 * sp._BLOCK + 17, 5, sp._RUN_MIN - 1, 2 * sp._RUN_MIN]
    m = np.concatenate([np.full(k, a) for (a, _), k in zip(mc, sizes)] + [[0.7, 2.0]])
    c = np.concatenate([np.full(k, b) for (_, b), k in zip(mc, sizes)] + [[0.9, 2.5]])
    z = rng.uniform(0, sp.Z_SERIES_MAX, m.size)
    z[:50] = 0.0  # alpha == beta: one term, d/dz = m / c
    z[sizes[0]:sizes[0] + sp._BLOCK] = np.sort(rng.uniform(0, 0.1, sp._BLOCK))[::-1]
    fast = sp.hyp2f1_a1(m, c, z, grad=True)
    rows = sp._phi_rows(m, c, z, True)
    slow = [np.log(rows[0]), *(v / rows[0] for v in rows[1:])]
    for got, want in zip(fast, slow):
        assert np.allclose(got, want, rtol=1e-12, atol=1e-13)
    assert np.allclose(np.exp(fast[0]), special.hyp2f1(1.0, m, c, z), rtol=1e-12)
    assert np.allclose(fast[3][:50], m[:50] / c[:50], rtol=1e-15)


def test_series_up_to_z_poly_max_matches_quadrature(monkeypatch):
    # Rows with z in (Z_SERIES_MAX, Z_POLY_MAX] take the series when they are in long runs of
    # equal exponents (polynomials) or numerous (row-wise sum), quadrature otherwise.
    A, B = 500.0, 2.0  # z = 498 / (500 + tau): tau in [0, 24] spans 0.957 .. 0.996
    run = sp._RUN_MIN + 40
    n_rest = sp._SERIES_ROWS_MIN + 6
    tau = np.r_[np.linspace(0.0, 24.0, run), np.linspace(1.0, 20.0, n_rest)]
    ea = np.r_[np.full(run, 1.3), 0.4 + np.arange(n_rest) * 0.37]
    z = (A - B) / (A + tau)
    assert np.mean((z > sp.Z_SERIES_MAX) & (z <= sp.Z_POLY_MAX)) > 0.9
    with monkeypatch.context() as mp:
        mp.setattr(sp, "Z_POLY_MAX", sp.Z_SERIES_MAX)  # every such row by quadrature
        slow = sp.log_tail_integral(ea, A, 0.61, B, tau, grad=True)
    for few in (False, True):
        rows = slice(None) if not few else slice(0, run + 3)  # few scattered rows: quadrature
        cap = sp._series_cap(ea[rows], ea[rows] + 0.61, z[rows], tau[rows].shape)
        assert np.all(cap[:run] == sp.Z_POLY_MAX)
        assert np.all(cap[run:] == (sp.Z_SERIES_MAX if few else sp.Z_POLY_MAX))
        fast = sp.log_tail_integral(ea[rows], A, 0.61, B, tau[rows], grad=True)
        for got, want in zip(fast, slow):
            assert np.allclose(got, want[rows], rtol=1e-10, atol=1e-12)


BG_CASES = [
    # (r, alpha, a, b, t)
    (0.243, 4.414, 0.793, 2.426, 39.0),      # CDNOW, weeks
    (0.5, 20.0, 0.4, 0.3, 90.0),             # a + b < 1: 2F1 with c < 0 in the textbook form
    (0.5, 20.0, 1.0, 0.8, 90.0),             # a == 1 exactly: 0/0 in the textbook form
    (0.5, 20.0, 1.0 + 1e-9, 0.8, 90.0),
    (5000.2, 10030.0, 0.8, 5002.4, 365.0),   # posterior of x = 5000, T = 10000 days
    (40.0, 400.0, 1.5, 0.5, 300.0),          # r >> a + b: alternating series -> quadrature
    (0.3, 2.0, 0.6, 0.9, 3000.0),            # z = 0.9993: quadrature
]


@pytest.mark.parametrize("case", BG_CASES)
def test_bgnbd_expected_new_matches_the_positive_term_sum(case):
    got = sp.bgnbd_expected_new(*case)
    assert np.isfinite(got)
    assert got == pytest.approx(bg_jsum(*case), rel=1e-9)


def test_bgnbd_expected_new_is_zero_at_zero_and_increasing():
    t = np.array([0.0, 1.0, 10.0, 100.0, 1000.0])
    e = sp.bgnbd_expected_new(0.3, 5.0, 0.7, 0.2, t)
    assert e[0] == 0.0
    assert np.all(np.diff(e) > 0)


def test_bgnbd_quadrature_matches_series_where_both_apply():
    for case in BG_CASES[:4]:
        series, loss = sp._bg_series(*(np.array([v]) for v in case))
        assert loss[0] < 1e4
        assert sp._bg_quad(*case) == pytest.approx(series[0], rel=1e-9)
