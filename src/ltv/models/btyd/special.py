"""Numerically stable special functions for the BTYD models.

Two quantities need care. Both are written so that no Gauss hypergeometric function is ever
evaluated with a negative `c`, by analytic continuation, or by subtracting two large terms:

* `log_tail_integral`: log of I = int_tau^inf (A+u)^-ea (B+u)^-eb du, the building block of
  the Pareto/NBD likelihood and P(alive). It is a 2F1(1, m; c; z) with 0 < m < c and
  0 <= z < 1: a series of positive terms, bounded by 1/(1-z), summed with its derivatives.
* `bgnbd_expected_new`: E[X(t)] of the BG/NBD, whose textbook form
  (a+b-1)/(a-1) [1 - (.)^r 2F1(r, b; a+b-1; z)] divides by a-1 and needs 2F1 with c = a+b-1,
  negative when a + b < 1 (where `lifetimes` returns NaN for one-time buyers). After an Euler
  transform the (a-1) cancels exactly and the series only involves (a+b)_k > 0.

Each sums its series while the argument z is not too close to 1 (and, for the BG/NBD, while
the terms do not cancel), and otherwise integrates a smooth, scaled integral representation
with scipy.integrate.quad: a slow path that only a few rows take (short history, long horizon).
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import integrate, special

# Above this z the series need more than ~800 terms; the quadrature fallback takes over.
Z_SERIES_MAX = 0.95
# The BG/NBD series loops over all its rows at once, so it pays to let it run to ~8,000 terms
# before falling back to (per-row) quadrature.
BG_SERIES_MAX = 0.995
_REL_TOL = 1e-16
_MAX_TERMS = 20000
# Rows sharing (m, c) in runs at least this long are summed as polynomials (`_phi_poly`), in
# blocks of at most _BLOCK rows: 4 x 8192 float64 accumulators stay in a core's L2 cache.
# Such rows keep the series up to Z_POLY_MAX (at most ~7,400 terms, in smaller blocks where
# the degree is high); only rows closer to 1 are integrated one by one.
_RUN_MIN = 256
_BLOCK = 8192
Z_POLY_MAX = 0.995
_SERIES_ROWS_MIN = 64


def hyp2f1_a1(m, c, z, grad: bool = False):
    """log 2F1(1, m; c; z) for 0 < m < c and 0 <= z <= Z_SERIES_MAX (or up to Z_POLY_MAX,
    where rows share (m, c) in long runs), by its power series.

    All arrays broadcast to one shape. Returns `log_phi`, or with `grad=True` the tuple
    (log_phi, d/dm, d/dc, d/dz) of log 2F1. The function is sum_k (m)_k / (c)_k z^k: positive
    terms, each at most z^k, so 1 <= 2F1 <= 1 / (1 - z) and nothing overflows. Closer to
    z = 1 the series is slow: `log_tail_integral` integrates numerically there instead.
    """
    m, c, z = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (m, c, z)))
    shape = m.shape
    res = _phi_series(m.ravel(), c.ravel(), z.ravel(), grad)
    res = [v.reshape(shape) for v in res]
    return tuple(res) if grad else res[0]


def _phi_series(m, c, z, grad):
    """Power series of 2F1(1, m; c; z) on flat arrays: (log_phi,) or (log_phi, d/dm, d/dc, d/dz).

    Rows come in runs that share (m, c): a Pareto/NBD likelihood has one (m, c) per distinct
    frequency. A run of at least _RUN_MIN rows is a polynomial in z with scalar coefficients,
    evaluated by Horner's rule (`_phi_poly`, ~2 array operations per term and polynomial
    instead of ~20 with divisions); the other rows sum their own terms (`_phi_rows`). Sorting
    the rows by (m, c), and by z within a run, makes the runs long and each block's degree fit
    its own largest z; any order gives the same values up to rounding.
    """
    n = m.size
    runs = _long_runs(m, c)
    if not runs:
        sums = _phi_rows(m, c, z, grad)
    else:
        sums = np.empty((4 if grad else 1, n))
        covered = np.zeros(n, dtype=bool)
        for lo, hi in runs:
            _phi_poly(float(m[lo]), float(c[lo]), z[lo:hi], grad, sums[:, lo:hi])
            covered[lo:hi] = True
        rest = np.flatnonzero(~covered)
        if rest.size:
            for o, v in zip(sums, _phi_rows(m[rest], c[rest], z[rest], grad)):
                o[rest] = v
    log_total = np.log(sums[0])
    if not grad:
        return (log_total,)
    return log_total, sums[1] / sums[0], sums[2] / sums[0], sums[3] / sums[0]


def _long_runs(m, c):
    """[(start, end)] of the runs of at least _RUN_MIN consecutive rows sharing (m, c)."""
    n = m.size
    if n < _RUN_MIN:
        return []
    cut = np.flatnonzero((m[1:] != m[:-1]) | (c[1:] != c[:-1])) + 1
    starts, ends = np.r_[0, cut], np.r_[cut, n]
    long = ends - starts >= _RUN_MIN
    return list(zip(starts[long].tolist(), ends[long].tolist()))


def _series_cap(m, c, z, shape):
    """The largest z summed as a series, per row of 2F1(1, m; c; z) (all broadcast to the 1-D
    `shape`), where quadrature would otherwise take the rows above Z_SERIES_MAX one by one
    (~3 ms each): Z_POLY_MAX in long runs of equal (m, c) (polynomials); Z_POLY_MAX for the
    other rows too when at least _SERIES_ROWS_MIN of them lie between the two limits (the
    row-wise sum of up to ~7,400 terms costs ~0.2 s, then ~0.15 ms a row); else
    Z_SERIES_MAX. Either way the value is the same to ~1e-12."""
    if len(shape) != 1:
        return Z_SERIES_MAX
    z = np.broadcast_to(z, shape)
    mid = (z > Z_SERIES_MAX) & (z <= Z_POLY_MAX)
    if not mid.any():
        return Z_SERIES_MAX
    cap = np.full(shape, Z_SERIES_MAX)
    for lo, hi in _long_runs(*(np.broadcast_to(np.asarray(v, dtype=float), shape)
                               for v in (m, c))):
        cap[lo:hi] = Z_POLY_MAX
    if np.count_nonzero(mid & (cap < Z_POLY_MAX)) >= _SERIES_ROWS_MIN:
        cap[:] = Z_POLY_MAX
    return cap


def _phi_poly(m, c, z, grad, out):
    """`_phi_rows` for scalar m, c, written into `out` (shape (4 or 1, z.size)): polynomials
    in z by Horner's rule, block by block.

    The k-th term of 2F1(1, m; c; z) is coef_k z^k with coef_k = prod_{j<k} (m+j)/(c+j), and
    its derivatives are polynomials too: d/dm has coefficients coef_k sum_{j<k} 1/(m+j), d/dc
    -coef_k sum_{j<k} 1/(c+j), d/dz (k+1) coef_(k+1). Each block of rows (at most _BLOCK,
    small enough to stay in cache) stops at the first degree K with coef_K zmax^K <= _REL_TOL,
    the rule the row-wise sum applies to each row (the sum is >= 1), with zmax the block's
    largest z. Where the first row of a block needs a high degree (z near 1), the block is
    shorter, so that sorted rows pay a high degree only where they need it.
    """
    z_top = float(z.max()) if z.size else 0.0
    # coef_k <= 1, so coef_k z^k <= z^k: this many terms always reach the tolerance.
    if z_top <= 0.0:
        k_max = 1
    elif z_top < 1.0:
        k_max = int(min(_MAX_TERMS, np.ceil(np.log(_REL_TOL) / np.log(z_top)) + 1))
    else:
        k_max = _MAX_TERMS
    ks = np.arange(k_max + 1, dtype=float)
    coef = np.concatenate(([1.0], np.cumprod((m + ks) / (c + ks))))  # coef_0 .. coef_(k_max+1)
    log_coef = np.log(coef[:-1])
    table = coef[None, :-1]
    if grad:
        sm = np.concatenate(([0.0], np.cumsum(1.0 / (m + ks[:-1]))))
        sc = np.concatenate(([0.0], np.cumsum(1.0 / (c + ks[:-1]))))
        table = np.stack([coef[:-1], coef[:-1] * sm, -coef[:-1] * sc, (ks + 1.0) * coef[1:]])
    log_tol = np.log(_REL_TOL)

    def degree(zm):
        if zm <= 0.0:
            return 0
        if zm >= 1.0:
            return k_max
        ok = np.flatnonzero(log_coef + ks * np.log(zm) <= log_tol)
        return int(ok[0]) if ok.size else k_max

    lo = 0
    while lo < z.size:
        size = _BLOCK
        if k_max > 64:
            size = int(np.clip(_BLOCK * 64 // max(degree(float(z[lo])), 1), 64, _BLOCK))
        zb = z[lo:lo + size]
        deg = degree(float(zb.max()))
        acc = out[:, lo:lo + size]
        acc[...] = table[:, deg, None]
        for k in range(deg - 1, -1, -1):
            acc *= zb
            acc += table[:, k, None]
        lo += size


def _phi_rows(m, c, z, grad):
    """Row-wise power series of 2F1(1, m; c; z) and, with grad, of its derivatives (not logs).

    Works on contiguous arrays of the rows still summing, and only drops finished rows once a
    quarter of them are done: most rows need about as many terms as each other, and
    re-indexing every array on every term would cost more than the terms themselves.
    """
    n = m.size
    out = [np.ones(n)] + ([np.zeros(n), np.zeros(n), np.zeros(n)] if grad else [])
    pos = np.arange(n)
    total, term = np.ones(n), np.ones(n)
    if grad:
        sm, sc = np.zeros(n), np.zeros(n)  # running sums of 1/(m+j), 1/(c+j)
        dm, dc, dz = np.zeros(n), np.zeros(n), np.zeros(n)
        inv_z = 1.0 / np.where(z > 0, z, 1.0)
    k = 0
    tmp = np.empty(n)
    while pos.size and k < _MAX_TERMS:
        # In-place arithmetic: this loop is the hot spot of a Pareto/NBD fit.
        mk, ck = m + k, c + k
        np.divide(1.0, mk, out=mk)  # now 1/(m+k)
        np.divide(1.0, ck, out=ck)  # now 1/(c+k)
        term *= z
        term *= ck
        term /= mk
        total += term
        if grad:
            t = tmp[:pos.size]
            sm += mk
            sc += ck
            np.multiply(term, sm, out=t)
            dm += t
            np.multiply(term, sc, out=t)
            dc -= t
            # d/dz of the (k+1)-th term is (k+1) term / z; at k = 0 that is m / c, written
            # out so that z = 0 (A == B) gets its derivative too.
            if k == 0:
                dz += m / c
            else:
                np.multiply(term, inv_z, out=t)
                t *= k + 1
                dz += t
        k += 1
        # Terms decrease geometrically (ratio < z): the first negligible one ends the row.
        done = term <= _REL_TOL * total
        n_done = np.count_nonzero(done)
        if n_done and (n_done * 4 >= pos.size or n_done == pos.size):
            state = [total] + ([dm, dc, dz] if grad else [])
            for o, v in zip(out, state):
                o[pos[done]] = v[done]
            keep = ~done
            pos, m, c, z, total, term = (a[keep] for a in (pos, m, c, z, total, term))
            if grad:
                sm, sc, dm, dc, dz, inv_z = (a[keep] for a in (sm, sc, dm, dc, dz, inv_z))
    if pos.size:  # only reachable with _MAX_TERMS: keep what was summed
        for o, v in zip(out, [total] + ([dm, dc, dz] if grad else [])):
            o[pos] = v
    return out


def _tail_quad(ea, A, eb, B, tau, grad):
    """log int_tau^inf (A+u)^-ea (B+u)^-eb du by adaptive quadrature, for one row.

    With S = min(A, B) + tau, D = |A - B| and u = tau + S (e^y - 1), the smaller scale becomes
    S e^y and the larger D + S e^y: a smooth integrand in y on [0, inf), split at its
    maximum and scaled by it so nothing under- or overflows. The derivatives w.r.t.
    (ea, A, eb, B) differentiate under the integral sign.
    """
    a_small = A <= B
    e_s, e_l = (ea, eb) if a_small else (eb, ea)
    S = min(A, B) + tau
    log_s, log_d = np.log(S), np.log(abs(A - B))

    def logs(y):  # log(small + u), log(large + u)
        return log_s + y, np.logaddexp(log_d, log_s + y)

    def log_f(y):
        ls, ll = logs(y)
        return -e_s * ls - e_l * ll + log_s + y  # the last two: du = S e^y dy

    # Stationary point of log f: (1 - e_s)(D + S e^y) = e_l S e^y.
    y_max = 0.0
    if e_s < 1.0:
        y_max = max(0.0, float(np.log((1.0 - e_s) / (e_s + e_l - 1.0)) + log_d - log_s))
    shift = log_f(y_max)

    def integrand(y):
        f = np.exp(log_f(y) - shift)
        if not grad:
            return f
        ls, ll = logs(y)
        la, lb = (ls, ll) if a_small else (ll, ls)
        return f * np.array([1.0, -la, -ea * np.exp(-la), -lb, -eb * np.exp(-lb)])

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        if grad:
            parts = [integrate.quad_vec(integrand, lo, hi, epsabs=0.0, epsrel=1e-12)[0]
                     for lo, hi in ((0.0, y_max), (y_max, np.inf)) if hi > lo]
        else:
            parts = [integrate.quad(integrand, lo, hi, epsabs=0.0, epsrel=1e-12, limit=200)[0]
                     for lo, hi in ((0.0, y_max), (y_max, np.inf)) if hi > lo]
    v = np.sum(parts, axis=0)
    if not grad:
        return (shift + np.log(v),)
    return (shift + np.log(v[0]), *(v[1:] / v[0]))


def log_tail_integral(ea, A, eb, B, tau, grad: bool = False):
    """log of I = int_tau^inf (A+u)^(-ea) (B+u)^(-eb) du, for A, B > 0, ea, eb > 0, ea+eb > 1.

    Pivoting on the larger of A and B (call it A, with exponent ea) gives
        I = (A+tau)^(-ea) (B+tau)^(1-eb) / (ea+eb-1) * 2F1(1, ea; ea+eb; (A-B)/(A+tau)),
    a 2F1 with positive terms and an argument z in [0, 1), summed as a series while
    z <= Z_SERIES_MAX (Z_POLY_MAX where many rows share scalar A and B, see `_series_cap`);
    rows closer to 1 are integrated numerically. With `grad=True` also returns the partial
    derivatives of log I with respect to (ea, A, eb, B), in that order.
    Arrays broadcast; scalar A and B (a model's parameters) take a faster path.
    """
    shape = np.broadcast_shapes(*(np.shape(v) for v in (ea, A, eb, B, tau)))
    z_cap, z = Z_SERIES_MAX, None
    if np.ndim(A) == 0 and np.ndim(B) == 0:
        swap = bool(B > A)
        args = (eb, B, ea, A) if swap else (ea, A, eb, B)
        # Many rows above Z_SERIES_MAX: a series up to Z_POLY_MAX is far cheaper than
        # quadrature row by row (see `_series_cap`).
        z = (args[1] - args[3]) / (args[1] + np.asarray(tau, dtype=float))
        z_cap = _series_cap(args[0], args[0] + args[2], z, shape)
        res = _log_tail_pivoted(*args, tau, grad, z_cap)
        if grad:
            res = (res[0], *(res[3:5] + res[1:3] if swap else res[1:]))
    else:
        swap = np.asarray(B > A)
        piv = [np.where(swap, u, v) for u, v in ((eb, ea), (B, A), (ea, eb), (A, B))]
        res = _log_tail_pivoted(*piv, tau, grad, z_cap)
        if grad:
            d_ep, d_P, d_eq, d_Q = res[1:]
            res = (res[0], np.where(swap, d_eq, d_ep), np.where(swap, d_Q, d_P),
                   np.where(swap, d_ep, d_eq), np.where(swap, d_P, d_Q))
    res = [_writable(v, shape) for v in (res if grad else (res,))]
    # Rows too close to z = 1 for the series: integrate them one by one.
    if z is None:
        P, Q = np.maximum(A, B), np.minimum(A, B)
        z = (P - Q) / (P + np.asarray(tau, dtype=float))
    near_one = np.broadcast_to(z > z_cap, shape)
    if near_one.any():
        full = [np.broadcast_to(np.asarray(v, dtype=float), shape)
                for v in (ea, A, eb, B, tau)]
        for j in np.flatnonzero(near_one):
            i = np.unravel_index(j, shape)
            for o, v in zip(res, _tail_quad(*(f[i] for f in full), grad)):
                o[i] = v
    return tuple(res) if grad else res[0]


def _writable(v, shape):
    """v as a float array of `shape` that may be written to: itself when it already is one
    (a freshly computed result, on the hot path), else a copy."""
    if (isinstance(v, np.ndarray) and v.shape == shape and v.dtype == np.float64
            and v.flags.owndata and v.flags.writeable):
        return v
    return np.broadcast_to(v, shape).astype(float)


def _log_tail_pivoted(ep, P, eq, Q, tau, grad, z_cap=Z_SERIES_MAX):
    """log_tail_integral for P >= Q elementwise; derivatives w.r.t. (ep, P, eq, Q).

    Rows with z above z_cap get placeholder values (the caller replaces them).
    """
    p_tau, q_tau = P + tau, Q + tau
    lp, lq = np.log(p_tau), np.log(q_tau)
    z = (P - Q) / p_tau
    z = np.where(z > z_cap, 0.0, z)
    s = ep + eq - 1.0
    res = hyp2f1_a1(ep, ep + eq, z, grad=grad)
    log_phi = res[0] if grad else res
    log_i = -ep * lp + (1.0 - eq) * lq - np.log(s) + log_phi
    if not grad:
        return log_i
    _, d_m, d_c, d_z = res
    d_ep = -lp - 1.0 / s + d_m + d_c
    d_eq = -lq - 1.0 / s + d_c
    inv_p = 1.0 / p_tau
    d_z = d_z * inv_p
    d_P = (d_z * q_tau - ep) * inv_p
    d_Q = (1.0 - eq) / q_tau - d_z
    return log_i, d_ep, d_P, d_eq, d_Q


def bgnbd_expected_new(r, alpha, a, b, t):
    """E[X(t)] for a BG/NBD customer alive at time 0 with parameters (r, alpha, a, b).

    Also gives the conditional expectation for an alive customer with history (x, T), by
    passing the posterior parameters (r + x, alpha + T, a, b + x). Arrays broadcast; t >= 0 is in
    the same time unit as alpha. Finite for every a, b > 0, including a = 1 and a + b < 1.

    With z = t / (alpha + t), c = a + b - 1, d = c - r, the Euler transform of the textbook
    form gives
        E = c (1 - (1-z)^(a-1)) / (a-1)  -  (1-z)^(a-1) sum_{k>=1} (d)_k (a)_(k-1) z^k
                                                               / ((a+b)_(k-1) k!)
    where the first term tends to -c log(1-z) as a -> 1. The series is summed while z <=
    BG_SERIES_MAX and its terms do not cancel (they alternate when r >> a + b); other rows use
    `_bg_quad`, a slower numerical integral over the dropout probability p.
    """
    r, alpha, a, b, t = np.broadcast_arrays(
        *(np.asarray(v, dtype=float) for v in (r, alpha, a, b, t)))
    shape = r.shape
    r, alpha, a, b, t = (v.ravel() for v in (r, alpha, a, b, t))
    z = t / (alpha + t)
    out = np.full(r.size, np.nan)
    s = z <= BG_SERIES_MAX
    if s.any():
        with np.errstate(over="ignore", invalid="ignore"):  # flagged through `loss`
            out[s], loss = _bg_series(r[s], alpha[s], a[s], b[s], t[s])
        # `loss` bounds the relative rounding error in units of the machine epsilon.
        out[np.flatnonzero(s)[~(loss < 1e4)]] = np.nan
    for i in np.flatnonzero(~(np.isfinite(out) & (out >= 0))):
        out[i] = _bg_quad(r[i], alpha[i], a[i], b[i], t[i])
    return out.reshape(shape)


def _bg_series(r, alpha, a, b, t):
    """The Euler-transformed series, and the cancellation factor (sum |terms| / |result|)."""
    log1m_z = -np.log1p(t / alpha)  # log(1 - z), <= 0
    c = a + b - 1.0
    d = c - r
    am1 = a - 1.0
    with np.errstate(invalid="ignore", divide="ignore"):
        first = np.where(am1 == 0.0, -log1m_z, -np.expm1(am1 * log1m_z) / am1)
    z = t / (alpha + t)
    term = d * z  # k = 1
    total = term.copy()
    abs_total = np.abs(term)
    idx = np.flatnonzero(term != 0.0)
    k = 1
    while idx.size and k < _MAX_TERMS:
        di, ai, bi, ci, zi = d[idx], a[idx], b[idx], c[idx], z[idx]
        term_i = term[idx] * (di + k) * (ai + k - 1.0) / ((ci + k) * (k + 1.0)) * zi
        term[idx] = term_i
        total[idx] += term_i
        abs_total[idx] += np.abs(term_i)
        k += 1
        # The ratio of successive terms tends to z < 1, but it can exceed 1 for small k (large
        # a) and a term can be near 0 where d + k crosses 0 (d < 0): only stop once past
        # -d and once the terms are both negligible and shrinking.
        next_ratio = np.abs((di + k) * (ai + k - 1.0) / ((ci + k) * (k + 1.0))) * zi
        keep = ((np.abs(term_i) > _REL_TOL * np.abs(total[idx])) | (k < 2.0 - di)
                | (next_ratio >= 1.0))
        idx = idx[keep]
    scale = np.exp(am1 * log1m_z)
    value = c * first - scale * total
    abs_total[idx] = np.inf  # rows still unconverged at _MAX_TERMS: send them to quadrature
    with np.errstate(invalid="ignore", divide="ignore"):
        loss = (np.abs(c * first) + scale * abs_total) / np.abs(value)
    loss[value == 0.0] = np.where(abs_total[value == 0.0] == 0.0, 1.0, np.inf)
    return value, loss


def _bg_quad(r, alpha, a, b, t):
    """E_p[(1/p)(1 - (alpha/(alpha + p t))^r)] under p ~ Beta(a, b), by quadrature (one row).

    Integrates over y = log p on (0, 1/2] and over v = log(1-p) on [1/2, 1): both integrands
    are smooth, decay exponentially at -inf (like e^(a y) and e^(b v)) and, being densities of
    log p and log(1-p) times a bounded factor, cannot overflow. Each half is split at its
    peak so that quad sees where the mass is.
    """
    lb = special.betaln(a, b)
    ratio = t / alpha

    def g(p):  # (1 - (1 + p t/alpha)^-r) / p, which tends to r t/alpha as p -> 0
        return -np.expm1(-r * np.log1p(p * ratio)) / p if p > 0 else r * ratio

    def f_low(y):
        p = np.exp(y)
        return np.exp(a * y + (b - 1.0) * np.log1p(-p) - lb) * g(p)

    def f_high(v):
        return np.exp((a - 1.0) * np.log1p(-np.exp(v)) + b * v - lb) * g(-np.expm1(v))

    half = -np.log(2.0)
    total = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        for f, peak in ((f_low, np.log(a / (a + b))), (f_high, np.log(b / (a + b)))):
            peak = min(peak, half)
            total += integrate.quad(f, -np.inf, peak, epsabs=0.0, epsrel=1e-12, limit=200)[0]
            if peak < half:
                total += integrate.quad(f, peak, half, epsabs=0.0, epsrel=1e-12, limit=200)[0]
    return total
