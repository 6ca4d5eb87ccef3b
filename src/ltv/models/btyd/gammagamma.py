"""Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV").

Each transaction's value is z ~ Gamma(p, nu) (shape p, rate nu); a customer's nu ~ Gamma(q, v).
A customer is summarised by `frequency` x (repeat purchases) and `monetary_value` zbar, the
mean value of those x transactions, in currency units. Spend is assumed independent of the
purchase process, so this model pairs with either transaction model.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from ltv.errors import LTVError
from ltv.models.btyd.base import BTYDModel
from ltv.models.btyd.data import as_float_array, check_weights, dot, first_bad


def _check(frequency, monetary_value):
    x = as_float_array("frequency", frequency)
    m = as_float_array("monetary_value", monetary_value, x.size)
    first_bad("frequency", x < 0, x, "is negative",
               "frequency counts repeat purchases: it must be 0 or more")
    return x, m


class GammaGamma(BTYDModel):
    """Gamma-Gamma spend model. Fitted parameters: `params_` = {p, q, v} (v in currency).

    Only customers with frequency > 0 and monetary_value > 0 inform the fit (`n_` counts
    them); everyone else gets the population mean p v / (q - 1) as expected spend.
    """

    _param_names = ("p", "q", "v")

    def fit(self, frequency, monetary_value, weights=None) -> "GammaGamma":
        """Fit by maximum likelihood on customers with frequency > 0 and monetary_value > 0."""
        x, m = _check(frequency, monetary_value)
        w = check_weights(weights, x.size)
        use = (x > 0) & (m > 0) & (w > 0)
        if not use.any():
            raise LTVError("no customer has both frequency > 0 and monetary_value > 0, so "
                           "there is nothing to fit the spend model on",
                           "pass customers with at least one repeat purchase of positive value")
        x, m, w = x[use], m[use], w[use]
        self.n_ = int(use.sum())
        ux, ix = np.unique(x, return_inverse=True)
        data = (ux, ix.ravel(), m, w, np.log(m), np.log(x))
        mean_m = float(np.average(m, weights=w))
        cv2 = float(np.average((m - mean_m) ** 2, weights=w)) / mean_m ** 2
        # Moments of zbar for x = 1: mean p v/(q-1), CV^2 = (p+q-1)/(p(q-2)); q = 4 fixes p.
        p0 = 3.0 / max(2.0 * cv2 - 1.0, 0.1)
        starts = [np.array([p0, 4.0, mean_m * 3.0 / p0]),
                  np.array([1.0, 2.0, mean_m]),
                  np.array([10.0, 10.0, mean_m * 0.9])]
        return self._maximise(lambda prm: _loglik_grad(prm, data), float(w.sum()), starts)

    def loglik(self, frequency, monetary_value) -> np.ndarray:
        """Log-density of each customer's monetary_value given frequency (x > 0, zbar > 0)."""
        p, q, v = self._param_array("loglik")
        x, m = _check(frequency, monetary_value)
        first_bad("frequency", x <= 0, x, "is 0", "the spend likelihood needs x > 0")
        first_bad("monetary_value", m <= 0, m, "is not positive",
                   "the spend likelihood needs a positive mean transaction value")
        px = p * x
        return (special.gammaln(px + q) - special.gammaln(px) - special.gammaln(q)
                + q * np.log(v) + (px - 1) * np.log(m) + px * np.log(x)
                - (px + q) * np.log(x * m + v))

    def conditional_expected_spend(self, frequency, monetary_value) -> np.ndarray:
        """E[Z | x, zbar] = p (v + x zbar) / (p x + q - 1): expected value of a future
        transaction, in currency, per customer. Customers with frequency 0 or a non-positive
        monetary_value get the population mean p v / (q - 1)."""
        p, q, v = self._param_array("conditional_expected_spend")
        x, m = _check(frequency, monetary_value)
        x = np.where(m > 0, x, 0.0)
        denom = p * x + q - 1.0
        bad = denom <= 0
        if bad.any():
            raise LTVError(f"the fitted q = {q:.4g} <= 1 makes the mean spend of customers "
                           "without repeat purchases infinite (a heavy-tailed spend "
                           "distribution)",
                           "refit with a small penalizer (e.g. GammaGamma(penalizer=0.001)) or "
                           "cap extreme monetary values")
        return p * (v + x * m) / denom

    def sample_spend(self, purchases, frequency, monetary_value, rng=None) -> np.ndarray:
        """Draws of total spend given draws of purchase counts, same shape as `purchases`.

        `purchases` is (n_customers, n_draws) from a transaction model's `sample_purchases`.
        Per draw: nu ~ Gamma(q + p x, v + x zbar) (the posterior given the history), then the
        sum of N transactions ~ Gamma(p N, nu), and 0 when N = 0.
        """
        p, q, v = self._param_array("sample_spend")
        x, m = _check(frequency, monetary_value)
        x = np.where(m > 0, x, 0.0)
        n = np.asarray(purchases)
        if n.ndim != 2 or n.shape[0] != x.size:
            raise LTVError(f"purchases has shape {n.shape}, expected ({x.size}, n_draws)",
                           "pass the output of sample_purchases for the same customers")
        rng = np.random.default_rng(rng)
        nu = rng.gamma(q + p * x[:, None], 1.0 / (v + x * m)[:, None], n.shape)
        shape = np.where(n > 0, p * n, 1.0)
        return np.where(n > 0, rng.gamma(shape, 1.0, n.shape) / nu, 0.0)


def _loglik_grad(params, data):
    """Weighted log-likelihood and gradient w.r.t. (p, q, v); per-x terms once per unique x."""
    p, q, v = params
    ux, ix, m, w, log_m, log_x = data
    wx = np.bincount(ix, weights=w, minlength=ux.size)
    W = wx.sum()
    pux = p * ux
    log_xmv = np.log(ux[ix] * m + v)
    pxq_row = pux[ix] + q
    ll = (dot(wx, special.gammaln(pux + q) - special.gammaln(pux)) - W * special.gammaln(q)
          + W * q * np.log(v)
          + dot(w, (pux[ix] - 1.0) * log_m + pux[ix] * log_x - pxq_row * log_xmv))
    psi_pxq = special.digamma(pux + q)
    d_p = (dot(wx, ux * (psi_pxq - special.digamma(pux)))
           + dot(w * ux[ix], log_m + log_x - log_xmv))
    d_q = dot(wx, psi_pxq) - W * special.digamma(q) + W * np.log(v) - dot(w, log_xmv)
    d_v = W * q / v - dot(w, pxq_row / (ux[ix] * m + v))
    return float(ll), np.array([d_p, d_q, d_v])
