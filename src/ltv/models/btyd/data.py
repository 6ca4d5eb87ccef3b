"""Checking and compressing the per-customer summaries the BTYD models read.

The models see one row per customer: `frequency` x (repeat purchases), `recency` t_x (time of
the last purchase, measured from the first) and `T` (time from the first purchase to the
cutoff), all in days, plus an optional `weights` (how many customers the row stands for).

Many customers share the same (x, t_x, T) at day resolution, so fitting works on the unique
triples with summed weights, and on the unique values of each column: every expensive term
of a likelihood depends on only one or two of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from ltv.errors import SchemaError


def as_float_array(name: str, values, n: int | None = None) -> np.ndarray:
    """1-D float array of finite values, of length `n` when given; else SchemaError."""
    arr = np.asarray(values, dtype=float)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise SchemaError(f"expected a 1-D array, got shape {arr.shape}",
                          "pass one value per customer", column=name)
    if n is not None and arr.size != n:
        raise SchemaError(f"has {arr.size} values but frequency has {n}",
                          "pass arrays of the same length, one value per customer",
                          column=name)
    bad = ~np.isfinite(arr)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise SchemaError(f"value {arr[row]} is not a finite number ({int(bad.sum())} such rows)",
                          "drop or fill these customers before calling the model",
                          column=name, row=row)
    return arr


def first_bad(name: str, mask: np.ndarray, arr: np.ndarray, problem: str, fix: str) -> None:
    if mask.any():
        row = int(np.flatnonzero(mask)[0])
        raise SchemaError(f"value {arr[row]:g} {problem} ({int(mask.sum())} such rows)", fix,
                          column=name, row=row)


def check_rfm(frequency, recency, T):
    """Validate (frequency, recency, T) and return them as float arrays.

    frequency: repeat purchases, a non-negative integer per customer.
    recency: days from the first to the last purchase, 0 <= recency <= T; 0 when frequency is 0.
    T: days from the first purchase to the cutoff, >= 0.
    """
    x = as_float_array("frequency", frequency)
    n = x.size
    t_x = as_float_array("recency", recency, n)
    T = as_float_array("T", T, n)
    first_bad("frequency", x < 0, x, "is negative",
               "frequency counts repeat purchases: it must be 0 or more")
    first_bad("frequency", x != np.round(x), x, "is not a whole number",
               "frequency counts repeat purchases: round or recount it")
    first_bad("T", T < 0, T, "is negative",
               "T is days from the customer's first purchase to the cutoff: it must be >= 0")
    first_bad("recency", t_x < 0, t_x, "is negative",
               "recency is days from the first to the last purchase: it must be >= 0")
    # A tolerance of a few ulps: recency and T often come from the same float subtraction.
    too_late = t_x > T * (1 + 1e-12) + 1e-12
    if too_late.any():
        row = int(np.flatnonzero(too_late)[0])
        raise SchemaError(f"recency {t_x[row]:g} is greater than T {T[row]:g} "
                          f"({int(too_late.sum())} such rows)",
                          "recency (first to last purchase) cannot exceed T (first purchase to "
                          "cutoff): check that both use the same cutoff and time unit (days)",
                          column="recency", row=row)
    first_bad("recency", (x == 0) & (t_x != 0), t_x, "is not 0 for a customer with frequency 0",
               "with no repeat purchase the last purchase is the first: set recency to 0")
    return x, np.minimum(t_x, T), T


def check_weights(weights, n: int) -> np.ndarray:
    """Weights: non-negative finite numbers (customers each row stands for); None means 1."""
    if weights is None:
        return np.ones(n)
    w = as_float_array("weights", weights, n)
    first_bad("weights", w < 0, w, "is negative", "weights count customers: use 0 or more")
    if not w.sum() > 0:
        raise SchemaError("all weights are 0", "pass at least one customer with weight > 0",
                          column="weights")
    return w


def check_horizon(t, n: int) -> np.ndarray:
    """Horizon(s) in days, a scalar or one per customer, as an array of length n."""
    try:
        t = np.broadcast_to(np.asarray(t, dtype=float), (n,))
    except ValueError:
        raise SchemaError(f"has shape {np.shape(t)}, which does not match {n} customers",
                          "pass one horizon for all customers or one per customer",
                          column="t") from None
    t = as_float_array("t", t)
    first_bad("t", t < 0, t, "is negative", "t is a horizon in days: use 0 or more")
    return t


def _codes(values: np.ndarray):
    """(unique values, code of each row). Hash-based: ~10x faster than np.unique at 1M rows;
    the unique values come in order of first appearance, not sorted."""
    inv, uniq = pd.factorize(values)
    return np.asarray(uniq), inv.astype(np.int64, copy=False)


def _pair_index(a: np.ndarray, b: np.ndarray, nb: int):
    """Codes of the unique (a, b) pairs of two code arrays, and each row's pair."""
    keys, inv = _codes(a * nb + b)
    return keys // nb, keys % nb, inv


@dataclass(frozen=True)
class CompressedRFM:
    """Unique (x, t_x, T) triples with summed weights, factored by column.

    `x`, `t_x`, `T` hold each column's unique values; `ix`, `itx`, `iT` give, for each unique
    triple, the index of its value in those arrays; `w` is the total weight of each triple.
    Pairs: `xT` (x and T codes of each unique (x, T) pair) and `row_xT` (each triple's pair);
    likewise `xtx` / `row_xtx` for (x, t_x).
    """

    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    ix: np.ndarray
    itx: np.ndarray
    iT: np.ndarray
    w: np.ndarray
    xT: tuple[np.ndarray, np.ndarray]
    row_xT: np.ndarray
    xtx: tuple[np.ndarray, np.ndarray]
    row_xtx: np.ndarray

    @property
    def n_rows(self) -> int:
        return int(self.w.size)

    # Cached: a fit reads these on every evaluation. (cached_property writes the instance
    # __dict__ directly, which a frozen dataclass allows.)
    @cached_property
    def w_by_x(self) -> np.ndarray:
        return np.bincount(self.ix, weights=self.w, minlength=self.x.size)

    @cached_property
    def xT_values(self) -> tuple[np.ndarray, np.ndarray]:
        """(x, T) of each unique (x, T) pair."""
        return self.x[self.xT[0]], self.T[self.xT[1]]

    @cached_property
    def xtx_values(self) -> tuple[np.ndarray, np.ndarray]:
        """(x, t_x) of each unique (x, t_x) pair."""
        return self.x[self.xtx[0]], self.t_x[self.xtx[1]]


def compress(x: np.ndarray, t_x: np.ndarray, T: np.ndarray, w: np.ndarray) -> CompressedRFM:
    """Group customers by (x, t_x, T); rows with weight 0 are dropped."""
    keep = w > 0
    x, t_x, T, w = x[keep], t_x[keep], T[keep], w[keep]
    ux, cx = _codes(x)
    utx, ctx = _codes(t_x)
    uT, cT = _codes(T)
    key = (cx * uT.size + cT) * utx.size + ctx
    keys, inv = _codes(key)
    wsum = np.bincount(inv, weights=w)
    ix = keys // (uT.size * utx.size)
    iT = (keys // utx.size) % uT.size
    itx = keys % utx.size
    px, pT, row_xT = _pair_index(ix, iT, uT.size)
    qx, qtx, row_xtx = _pair_index(ix, itx, utx.size)
    return CompressedRFM(ux, utx, uT, ix, itx, iT, wsum, (px, pT), row_xT, (qx, qtx), row_xtx)


def sort_pairs(d: CompressedRFM) -> CompressedRFM:
    """The same data with the (x, T) and (x, t_x) pairs sorted by x, then by time, and the
    triples sorted by their (x, t_x) pair.

    Only speed depends on the order. The Pareto/NBD integrals then come in long runs of equal
    x (one hypergeometric polynomial each, see `special._phi_series`) with the time, hence
    the series argument, monotone within a run; the per-triple gathers and scatters of the
    likelihood read memory in order.
    """
    def order(codes_x, values):
        # Approximate float key: only the ordering matters, never the values.
        key = d.x[codes_x] * (2.0 * float(np.max(values, initial=0.0)) + 1.0) + values
        perm = np.argsort(key, kind="stable")
        rank = np.empty_like(perm)
        rank[perm] = np.arange(perm.size)
        return perm, rank

    pT, rank_T = order(d.xT[0], d.T[d.xT[1]])
    ptx, rank_tx = order(d.xtx[0], d.t_x[d.xtx[1]])
    row_xT, row_xtx = rank_T[d.row_xT], rank_tx[d.row_xtx]
    o = np.argsort(row_xtx, kind="stable")
    return CompressedRFM(d.x, d.t_x, d.T, d.ix[o], d.itx[o], d.iT[o], d.w[o],
                         (d.xT[0][pT], d.xT[1][pT]), row_xT[o],
                         (d.xtx[0][ptx], d.xtx[1][ptx]), row_xtx[o])


def unique_rows(*columns: np.ndarray):
    """Unique rows of equal-length 1-D float columns: (list of unique columns, inverse index).

    Predictions depend on a few columns only, so computing them once per unique row and
    scattering back is much cheaper than once per customer.
    """
    coded = [_codes(col) for col in columns]
    if np.prod([float(u.size) for u, _ in coded]) >= 2.0 ** 62:  # the int64 key would overflow
        stacked, inv = np.unique(np.stack(columns, axis=1), axis=0, return_inverse=True)
        return list(stacked.T), inv.ravel()
    key = np.zeros(columns[0].size, dtype=np.int64)
    uniques = []
    for u, inv in coded:
        uniques.append(u)
        key = key * u.size + inv
    keys, inv = _codes(key)
    out = []
    for u in reversed(uniques):
        out.append(u[keys % u.size])
        keys = keys // u.size
    return out[::-1], inv


def log_mix(l1: np.ndarray, l2: np.ndarray):
    """log(e^l1 + e^l2) and the share e^l2 / (e^l1 + e^l2), elementwise.

    Same result as np.logaddexp, several times faster on large arrays (it is on the hot path
    of every likelihood evaluation); l2 may be -inf, l1 must be finite.
    """
    diff = l2 - l1
    # exp(-600) ~ 1e-261 instead of an exact 0 or a subnormal: arithmetic on subnormal floats
    # is ~100x slower on x86, and they would reach every later product and dot.
    small = np.exp(np.maximum(-np.abs(diff), -600.0))  # in (0, 1]: no overflow
    one_plus = 1.0 + small
    lse = np.maximum(l1, l2) + np.log1p(small)
    share2 = np.where(diff > 0, 1.0, small) / one_plus
    return lse, share2


def dot(a, b) -> float:
    """Sum of a * b over the last axis, without BLAS.

    np.dot hands 1-D products to multi-threaded OpenBLAS, whose threads wake slowly on a busy
    machine (milliseconds per call, against ~0.1 ms here); the likelihoods call it dozens of
    times per evaluation.
    """
    return np.einsum("...i,i->...", a, b)
