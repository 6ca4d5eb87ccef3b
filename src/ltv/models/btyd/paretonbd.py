"""Pareto/NBD (Schmittlein, Morrison & Colombo 1987), in the form of Fader & Hardie's 2005 note.

While alive, a customer buys at Poisson rate lambda ~ Gamma(r, alpha); their lifetime is
exponential with rate mu ~ Gamma(s, beta). Shape/rate parametrisation, times in days.

The likelihood is written without subtracting two hypergeometric terms. With
E(tau) = (alpha+tau)^-(r+x) (beta+tau)^-s, the note's L / C = E(T) + J(t_x) - J(T) becomes
    L / C = M(T) + J(t_x),   C = G(r+x) alpha^r beta^s / G(r),
    M(T)  = (r+x) int_T^inf   (alpha+u)^-(r+x+1) (beta+u)^-s     du   (alive at T)
    J(t_x) =   s  int_t_x^inf (alpha+u)^-(r+x)   (beta+u)^-(s+1) du   (died after t_x)
two positive integrals that `special.log_tail_integral` evaluates stably, and
P(alive) = E(T) / (M(T) + J(t_x)).
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import special

from ltv.models.btyd.base import BTYDModel
from ltv.models.btyd.data import (check_horizon, check_rfm, check_weights, compress,
                                  dot, log_mix, sort_pairs, unique_rows)
from ltv.models.btyd.special import log_tail_integral

# Fits on at least this many distinct (x, t_x, T) rows start from a fit on this fraction of
# the customers (see `ParetoNBD.fit`), which may itself start from a smaller subsample.
_WARM_START_ROWS = 40_000
_SUBSAMPLE_FRACTION = 1.0 / 8.0
_SUBSAMPLE_FTOL = 1e-10


class ParetoNBD(BTYDModel):
    """Pareto/NBD transaction model. Fitted parameters: `params_` = {r, alpha, s, beta}.

    penalizer: L2 weight on the log-parameters (0 = plain maximum likelihood).
    After `fit`: `params_`, `loglik_`, `n_`, `converged_`. Inputs as for `BetaGeo`: frequency,
    recency (days from first to last purchase), T (days from first purchase to the cutoff).
    """

    _param_names = ("r", "alpha", "s", "beta")

    def fit(self, frequency, recency, T, weights=None) -> "ParetoNBD":
        """Fit by maximum likelihood. Arrays of length n_customers; times in days.

        With many distinct (x, t_x, T) rows (at least _WARM_START_ROWS, e.g. exact rather
        than day-rounded times) the fit first runs on a random eighth of the customers (itself
        fitted the same way while it is that large), then polishes that estimate on all rows
        in coordinates whitened by the subsample's Hessian (`BTYDModel._polish`): ~5
        evaluations on all rows instead of ~20, same objective and tolerance, and the plain
        fit below whenever that does not converge.
        """
        x, t_x, T = check_rfm(frequency, recency, T)
        w = check_weights(weights, x.size)
        self._fit(x, t_x, T, w)
        return self

    def _fit(self, x, t_x, T, w, ftol=None):
        """`fit` on checked arrays; returns the compressed data it fitted."""
        data = sort_pairs(compress(x, t_x, T, w))
        self.n_ = int(x.size)
        rate = float(np.sum(w * x) / max(np.sum(w * T), 1e-12))
        rate = rate if rate > 0 else 1.0 / max(float(np.mean(T)), 1.0)
        scale = float(np.average(T, weights=w)) or 1.0
        # alpha == beta at the start makes every hypergeometric argument 0 (one series term).
        starts = [np.array([1.0, 1.0 / rate, 1.0, 1.0 / rate]),
                  np.array([0.5, 0.5 / rate, 0.5, scale]),
                  np.array([3.0, 3.0 / rate, 3.0, 3.0 * scale])]
        warm = None
        if data.n_rows >= _WARM_START_ROWS:
            warm = self._subsample_start(x, t_x, T, w, _SUBSAMPLE_FRACTION)
        self._maximise(lambda p: _loglik_grad(p, data), float(data.w.sum()), starts,
                       warm=warm, ftol=ftol)
        return data

    def _subsample_start(self, x, t_x, T, w, fraction):
        """(params, Hessian of the objective in log-params) of a fit on a random `fraction`
        of the customers (a fixed seed: the same data give the same fit), or None when that
        fit did not converge inside the bounds. The subsample fit stops at a looser
        tolerance: its sampling error is far larger, and the polish on all rows follows."""
        pick = np.random.default_rng(0).random(x.size) < fraction
        if not np.any(w[pick] > 0):
            return None
        sub = ParetoNBD(penalizer=self.penalizer)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            data = sub._fit(x[pick], t_x[pick], T[pick], w[pick], ftol=_SUBSAMPLE_FTOL)
        params = np.array(sub._param_array("fit"))
        if not (sub.converged_ and np.all(np.isfinite(params))):
            return None
        hess = sub._log_hessian(lambda p: _loglik_grad(p, data), float(data.w.sum()), params)
        return params, hess

    def loglik(self, frequency, recency, T) -> np.ndarray:
        """Log-likelihood of each customer's (x, t_x, T) under the fitted parameters."""
        r, alpha, s, beta = self._param_array("loglik")
        x, t_x, T = check_rfm(frequency, recency, T)
        log_m, log_j = _log_m_j(r, alpha, s, beta, x, t_x, T)
        return _log_c(r, alpha, s, beta, x) + np.logaddexp(log_m, log_j)

    def probability_alive(self, frequency, recency, T) -> np.ndarray:
        """P(alive at T | x, t_x, T), shape (n_customers,)."""
        r, alpha, s, beta = self._param_array("probability_alive")
        x, t_x, T = check_rfm(frequency, recency, T)
        return _p_alive(r, alpha, s, beta, x, t_x, T)

    def expected_purchases(self, t, frequency, recency, T) -> np.ndarray:
        """E[X(T, T+t) | x, t_x, T]: expected purchases in the next `t` days, per customer.

        = P(alive) (r+x)(beta+T) / ((alpha+T)(s-1)) [1 - ((beta+T)/(beta+T+t))^(s-1)],
        with the s -> 1 limit (r+x)(beta+T)/(alpha+T) log(1 + t/(beta+T)) taken smoothly.
        """
        r, alpha, s, beta = self._param_array("expected_purchases")
        x, t_x, T = check_rfm(frequency, recency, T)
        t = check_horizon(t, x.size)
        rate = (r + x) / (alpha + T)
        return _p_alive(r, alpha, s, beta, x, t_x, T) * rate * _alive_time(s, beta + T, t)

    def probability_any_purchase(self, t, frequency, recency, T) -> np.ndarray:
        """P(X(T, T+t) > 0 | x, t_x, T): chance of at least one purchase in the next `t` days.

        Given alive with posterior rates, no purchase happens if the customer outlives the
        horizon without buying, or dies at some u < t before buying:
        P(none | alive) = (a'/(a'+t))^r' (b'/(b'+t))^s
                        + s a'^r' b'^s int_0^t (a'+u)^-r' (b'+u)^-(s+1) du,
        with r' = r+x, a' = alpha+T, b' = beta+T.
        """
        r, alpha, s, beta = self._param_array("probability_any_purchase")
        x, t_x, T = check_rfm(frequency, recency, T)
        t = check_horizon(t, x.size)
        (ux, uT, ut), inv = unique_rows(x, T, t)
        r1, a1, b1 = r + ux, alpha + uT, beta + uT
        survive = np.exp(-r1 * np.log1p(ut / a1) - s * np.log1p(ut / b1))
        log_i0 = log_tail_integral(r1, a1, s + 1.0, b1, 0.0)
        log_it = log_tail_integral(r1, a1, s + 1.0, b1, ut)
        with np.errstate(divide="ignore"):
            log_pre = np.log(s) + r1 * np.log(a1) + s * np.log(b1) + log_i0
        die_first = np.exp(log_pre) * -np.expm1(np.minimum(log_it - log_i0, 0.0))
        none = np.clip(survive + die_first, 0.0, 1.0)[inv]
        return _p_alive(r, alpha, s, beta, x, t_x, T) * (1.0 - none)

    def expected_purchases_curve(self, times, frequency, recency, T) -> np.ndarray:
        """E[X(T, T+t) | x, t_x, T] at several horizons `times` (days): (n_customers, n_times).

        Same numbers as calling `expected_purchases` once per time, with P(alive) computed
        once (CLV uses it).
        """
        r, alpha, s, beta = self._param_array("expected_purchases_curve")
        x, t_x, T = check_rfm(frequency, recency, T)
        times = check_horizon(times, np.size(times))
        rate = (r + x) / (alpha + T) * _p_alive(r, alpha, s, beta, x, t_x, T)
        (uT,), inv = unique_rows(T)  # the expected alive time depends on T only
        return rate[:, None] * _alive_time(s, (beta + uT)[:, None], times[None, :])[inv]

    def expected_purchases_new(self, t) -> np.ndarray:
        """E[X(t)] = r beta / (alpha (s-1)) [1 - (beta/(beta+t))^(s-1)] for a new customer."""
        r, alpha, s, beta = self._param_array("expected_purchases_new")
        t = np.asarray(t, dtype=float)
        return r / alpha * _alive_time(s, beta, t)

    def sample_purchases(self, t, frequency, recency, T, n_draws: int = 1000,
                         rng=None) -> np.ndarray:
        """Draws of X(T, T+t) from the posterior predictive, shape (n_customers, n_draws).

        Per draw: alive ~ Bernoulli(P(alive)); lambda ~ Gamma(r+x, alpha+T); mu ~ Gamma(s,
        beta+T); remaining lifetime ~ Exp(mu); purchases ~ Poisson(lambda min(t, lifetime)).
        """
        r, alpha, s, beta = self._param_array("sample_purchases")
        x, t_x, T = check_rfm(frequency, recency, T)
        t = check_horizon(t, x.size)[:, None]
        rng = np.random.default_rng(rng)
        size = (x.size, n_draws)
        alive = rng.random(size) < _p_alive(r, alpha, s, beta, x, t_x, T)[:, None]
        lam = rng.gamma(r + x[:, None], 1.0 / (alpha + T[:, None]), size)
        mu = rng.gamma(s, 1.0 / (beta + T[:, None]), size)
        active = np.minimum(t, rng.exponential(1.0, size) / mu)
        return np.where(alive, rng.poisson(lam * active), 0)


def _alive_time(s, scale, t):
    """E[min(t, lifetime)] for lifetime ~ Exp(mu), mu ~ Gamma(s, scale):
    scale/(s-1) [1 - (scale/(scale+t))^(s-1)], written with expm1/log1p so s = 1 is smooth."""
    log_ratio = np.log1p(t / scale)
    sm1 = s - 1.0
    if sm1 == 0.0:
        return scale * log_ratio
    return scale * -np.expm1(-sm1 * log_ratio) / sm1


def _log_c(r, alpha, s, beta, x):
    return special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha) + s * np.log(beta)


def _log_m_j(r, alpha, s, beta, x, t_x, T):
    log_m = np.log(r + x) + log_tail_integral(r + x + 1.0, alpha, s, beta, T)
    log_j = np.log(s) + log_tail_integral(r + x, alpha, s + 1.0, beta, t_x)
    return log_m, log_j


def _p_alive(r, alpha, s, beta, x, t_x, T):
    # The integrals depend on (x, T) and (x, t_x) only: evaluate once per unique row.
    (ux, ut, uT), inv = unique_rows(x, t_x, T)
    log_m, log_j = _log_m_j(r, alpha, s, beta, ux, ut, uT)
    log_e = -(r + ux) * np.log(alpha + uT) - s * np.log(beta + uT)
    return np.exp(np.minimum(log_e - np.logaddexp(log_m, log_j), 0.0))[inv]


def _loglik_grad(params, data):
    """Weighted log-likelihood of the compressed data and its gradient w.r.t. (r, alpha, s, beta).

    M is computed once per unique (x, T) pair, J once per unique (x, t_x) pair, log C once per
    unique x; rows only mix log M and log J.
    """
    r, alpha, s, beta = params
    X = data.x
    mx, mT = data.xT_values
    jx, jtx = data.xtx_values
    lm, m_ea, m_A, m_eb, m_B = log_tail_integral(r + mx + 1.0, alpha, s, beta, mT, grad=True)
    lj, j_ea, j_A, j_eb, j_B = log_tail_integral(r + jx, alpha, s + 1.0, beta, jtx, grad=True)
    log_m = np.log(r + mx) + lm
    log_j = np.log(s) + lj

    lm_row, lj_row = log_m[data.row_xT], log_j[data.row_xtx]
    lse, share = log_mix(lm_row, lj_row)
    w = data.w
    wx = data.w_by_x
    total_w = wx.sum()
    log_c = _log_c(r, alpha, s, beta, X)
    ll = float(dot(wx, log_c) + dot(w, lse))

    # Weights of d log M and d log J (one row per unique pair) in the gradient.
    share_j = w * share
    s_j = np.bincount(data.row_xtx, weights=share_j, minlength=log_j.size)
    s_m = np.bincount(data.row_xT, weights=w - share_j, minlength=log_m.size)
    g_c = np.array([dot(wx, special.digamma(r + X)) - total_w * special.digamma(r)
                    + total_w * np.log(alpha),
                    total_w * r / alpha,
                    total_w * np.log(beta),
                    total_w * s / beta])
    # d log M / d(r, alpha, s, beta) = (1/(r+x) + m_ea, m_A, m_eb, m_B); d log J likewise
    # (j_ea, j_A, 1/s + j_eb, j_B).
    g_m = np.array([dot(s_m, 1.0 / (r + mx)) + dot(m_ea, s_m), dot(m_A, s_m), dot(m_eb, s_m),
                    dot(m_B, s_m)])
    sum_j = s_j.sum()
    g_j = np.array([dot(j_ea, s_j), dot(j_A, s_j), sum_j / s + dot(j_eb, s_j), dot(j_B, s_j)])
    return ll, g_c + g_m + g_j
