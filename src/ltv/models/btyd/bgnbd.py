"""BG/NBD: the beta-geometric / negative binomial model (Fader, Hardie & Lee 2005).

While alive, a customer buys at Poisson rate lambda ~ Gamma(r, alpha) (shape r, rate alpha);
after each repeat purchase they drop out for good with probability p ~ Beta(a, b).

Inputs per customer: `frequency` x (repeat purchases), `recency` t_x (days from the first to the
last purchase) and `T` (days from the first purchase to the cutoff). Horizons `t` are in days
too; alpha is then in days (any other unit works if every input uses it).
"""

from __future__ import annotations

import numpy as np
from scipy import special

from ltv.models.btyd.base import BTYDModel
from ltv.models.btyd.data import (check_horizon, check_rfm, check_weights, compress,
                                  dot, log_mix, unique_rows)
from ltv.models.btyd.special import bgnbd_expected_new


class BetaGeo(BTYDModel):
    """BG/NBD transaction model. Fitted parameters: `params_` = {r, alpha, a, b}.

    penalizer: L2 weight on the log-parameters (0 = plain maximum likelihood).
    After `fit`: `params_`, `loglik_` (total log-likelihood at the optimum, without the
    penalty), `n_` (customers), `converged_`.
    """

    _param_names = ("r", "alpha", "a", "b")

    # -- likelihood ------------------------------------------------------------------------

    def fit(self, frequency, recency, T, weights=None) -> "BetaGeo":
        """Fit by maximum likelihood. Arrays of length n_customers; times in days."""
        x, t_x, T = check_rfm(frequency, recency, T)
        w = check_weights(weights, x.size)
        data = compress(x, t_x, T, w)
        total_w = float(data.w.sum())
        self.n_ = int(x.size)
        rate = float(np.sum(w * x) / max(np.sum(w * T), 1e-12))
        rate = rate if rate > 0 else 1.0 / max(float(np.mean(T)), 1.0)
        starts = [np.array([1.0, 1.0 / rate, 1.0, 1.0]),
                  np.array([0.25, 0.25 / rate, 0.8, 2.5]),
                  np.array([3.0, 3.0 / rate, 3.0, 10.0])]
        return self._maximise(lambda p: _loglik_grad(p, data), total_w, starts)

    def loglik(self, frequency, recency, T) -> np.ndarray:
        """Log-likelihood of each customer's (x, t_x, T) under the fitted parameters."""
        r, alpha, a, b = self._param_array("loglik")
        x, t_x, T = check_rfm(frequency, recency, T)
        a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
        a2 = (special.betaln(a, b + x) - special.betaln(a, b)
              - (r + x) * np.log(alpha + T))
        with np.errstate(invalid="ignore", divide="ignore"):
            a3 = np.where(x > 0, special.betaln(a + 1, b + x - 1) - special.betaln(a, b)
                          - (r + x) * np.log(alpha + t_x), -np.inf)
        return a1 + np.logaddexp(a2, a3)

    # -- predictions -----------------------------------------------------------------------

    def probability_alive(self, frequency, recency, T) -> np.ndarray:
        """P(alive at T | x, t_x, T), shape (n_customers,). Exactly 1 when frequency is 0."""
        r, alpha, a, b = self._param_array("probability_alive")
        x, t_x, T = check_rfm(frequency, recency, T)
        return _p_alive(r, alpha, a, b, x, t_x, T)

    def expected_purchases(self, t, frequency, recency, T) -> np.ndarray:
        """E[X(T, T+t) | x, t_x, T]: expected purchases in the next `t` days, per customer.

        `t` is a scalar or an array broadcastable to (n_customers,), in days.
        """
        r, alpha, a, b = self._param_array("expected_purchases")
        x, t_x, T = check_rfm(frequency, recency, T)
        t = check_horizon(t, x.size)
        # The alive-customer part depends on (x, T, t) only: compute it once per unique row.
        (ux, uT, ut), inv = unique_rows(x, T, t)
        e_alive = bgnbd_expected_new(r + ux, alpha + uT, a, b + ux, ut)[inv]
        return _p_alive(r, alpha, a, b, x, t_x, T) * e_alive

    def expected_purchases_curve(self, times, frequency, recency, T) -> np.ndarray:
        """E[X(T, T+t) | x, t_x, T] at several horizons `times` (days): (n_customers, n_times).

        Same numbers as calling `expected_purchases` once per time, with P(alive) and the
        grouping of customers done once (CLV uses it).
        """
        r, alpha, a, b = self._param_array("expected_purchases_curve")
        x, t_x, T = check_rfm(frequency, recency, T)
        times = check_horizon(times, np.size(times))
        (ux, uT), inv = unique_rows(x, T)
        curve = np.stack([bgnbd_expected_new(r + ux, alpha + uT, a, b + ux, t) for t in times],
                         axis=1)
        return _p_alive(r, alpha, a, b, x, t_x, T)[:, None] * curve[inv]

    def probability_any_purchase(self, t, frequency, recency, T) -> np.ndarray:
        """P(X(T, T+t) > 0 | x, t_x, T): chance of at least one purchase in the next `t` days.

        An alive customer can only drop out right after a purchase, so this is
        P(alive) (1 - ((alpha+T) / (alpha+T+t))^(r+x)).
        """
        r, alpha, a, b = self._param_array("probability_any_purchase")
        x, t_x, T = check_rfm(frequency, recency, T)
        t = check_horizon(t, x.size)
        none = np.exp(-(r + x) * np.log1p(t / (alpha + T)))
        return _p_alive(r, alpha, a, b, x, t_x, T) * (1.0 - none)

    def expected_purchases_new(self, t) -> np.ndarray:
        """E[X(t)]: expected repeat purchases in the first `t` days of a new customer."""
        r, alpha, a, b = self._param_array("expected_purchases_new")
        t = np.asarray(t, dtype=float)
        return bgnbd_expected_new(r, alpha, a, b, t)

    def sample_purchases(self, t, frequency, recency, T, n_draws: int = 1000,
                         rng=None) -> np.ndarray:
        """Draws of X(T, T+t) from the posterior predictive, shape (n_customers, n_draws).

        Per draw: alive ~ Bernoulli(P(alive)); lambda ~ Gamma(r+x, alpha+T); p ~ Beta(a, b+x);
        purchases = min(Poisson(lambda t), Geometric(p)) (the purchase after which the
        customer drops out ends the count). Integer array.
        """
        r, alpha, a, b = self._param_array("sample_purchases")
        x, t_x, T = check_rfm(frequency, recency, T)
        t = check_horizon(t, x.size)[:, None]
        rng = np.random.default_rng(rng)
        size = (x.size, n_draws)
        alive = rng.random(size) < _p_alive(r, alpha, a, b, x, t_x, T)[:, None]
        lam = rng.gamma(r + x[:, None], 1.0 / (alpha + T[:, None]), size)
        p = rng.beta(a, b + x[:, None], size)
        count = rng.poisson(lam * t)
        drop_at = rng.geometric(p)
        return np.where(alive, np.minimum(count, drop_at), 0)


def _p_alive(r, alpha, a, b, x, t_x, T):
    # P(alive) = 1 / (1 + a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x)) for x > 0, in log space so
    # that large x and T cannot overflow the power.
    with np.errstate(divide="ignore", invalid="ignore"):
        log_odds = (np.log(a) - np.log(b + x - 1)
                    + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x)))
    return np.where(x > 0, special.expit(-log_odds), 1.0)


def _loglik_grad(params, data):
    """Weighted log-likelihood of the compressed data and its gradient w.r.t. (r, alpha, a, b).

    L = B(a, b+x)/B(a, b) G(r+x) alpha^r / (G(r) (alpha+T)^(r+x))
      + [x>0] B(a+1, b+x-1)/B(a, b) G(r+x) alpha^r / (G(r) (alpha+t_x)^(r+x))
    Terms that depend on x alone are computed once per unique x, logs of alpha + T and of
    alpha + t_x once per unique T and t_x; only the mixing of the two terms is per row.
    """
    r, alpha, a, b = params
    X, ix = data.x, data.ix
    pos = X > 0
    Xp = np.where(pos, X, 1.0)  # keeps b + x - 1 > 0 in the masked-out branch
    lbab = special.betaln(a, b)
    a1 = special.gammaln(r + X) - special.gammaln(r) + r * np.log(alpha)
    b2 = special.betaln(a, b + X) - lbab
    b3 = np.where(pos, special.betaln(a + 1, b + Xp - 1) - lbab, -np.inf)
    log_aT = np.log(alpha + data.T)
    log_atx = np.log(alpha + data.t_x)

    rx = r + X[ix]
    l2 = b2[ix] - rx * log_aT[data.iT]
    l3 = b3[ix] - rx * log_atx[data.itx]
    lse, w3 = log_mix(l2, l3)  # w3: share of the "dropped out at t_x" term; 0 when x == 0
    w = data.w
    wx = data.w_by_x
    total_w = wx.sum()
    ll = float(dot(wx, a1) + dot(w, lse))

    ww3 = w * w3
    ww2 = w - ww3
    # Per-x sums of the mixing weights, for the derivatives that depend on x only.
    s2 = np.bincount(ix, weights=ww2, minlength=X.size)
    s3 = np.bincount(ix, weights=ww3, minlength=X.size)

    psi_ab = special.digamma(a + b)
    psi_abx = special.digamma(a + b + X)
    d_r = (dot(wx, special.digamma(r + X) - special.digamma(r) + np.log(alpha))
           - dot(ww2, log_aT[data.iT]) - dot(ww3, log_atx[data.itx]))
    d_alpha = (total_w * r / alpha
               - dot(ww2 * rx, 1.0 / (alpha + data.T[data.iT]))
               - dot(ww3 * rx, 1.0 / (alpha + data.t_x[data.itx])))
    d2_a = psi_ab - psi_abx
    d2_b = special.digamma(b + X) - psi_abx - special.digamma(b) + psi_ab
    d3_a = np.where(pos, special.digamma(a + 1) - psi_abx - special.digamma(a) + psi_ab, 0.0)
    d3_b = np.where(pos, special.digamma(b + Xp - 1) - psi_abx - special.digamma(b) + psi_ab,
                    0.0)
    d_a = dot(s2, d2_a) + dot(s3, d3_a)
    d_b = dot(s2, d2_b) + dot(s3, d3_b)
    return ll, np.array([d_r, d_alpha, d_a, d_b])
