"""Fixtures for the BTYD tests: small numpy simulators of each model and the CDNOW data.

The simulators follow each model's story directly (draw each customer's rates, then their
purchases), independently of the likelihood code, and can also return a holdout period.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

DATA = Path(__file__).parent / "data"


def simulate_bgnbd(n, r, alpha, a, b, T, holdout=0.0, seed=0):
    """BG/NBD customers: lambda ~ Gamma(r, alpha), p ~ Beta(a, b); while alive they buy at
    Poisson rate lambda and drop out right after each repeat purchase with probability p.
    T: scalar or array (days since the first purchase). Returns a dict of arrays."""
    rng = np.random.default_rng(seed)
    T = np.broadcast_to(np.asarray(T, dtype=float), (n,)).copy()
    lam = rng.gamma(r, 1.0 / alpha, n)
    p = rng.beta(a, b, n)
    window = T + holdout
    n_arrivals = rng.poisson(lam * window)
    made = np.minimum(n_arrivals, rng.geometric(p))  # purchases made before dropping out
    in_calib = rng.binomial(n_arrivals, T / window)  # arrivals that fall in (0, T]
    x = np.minimum(in_calib, made)
    # Given k uniform arrivals on (0, T], the x-th is T * Beta(x, k - x + 1).
    t_x = np.where(x > 0, T * rng.beta(np.maximum(x, 1), np.maximum(in_calib - x + 1, 1)), 0.0)
    return {"x": x.astype(float), "t_x": t_x, "T": T, "x_holdout": (made - x).astype(float),
            "lam": lam, "p": p}


def simulate_paretonbd(n, r, alpha, s, beta, T, holdout=0.0, seed=0):
    """Pareto/NBD customers: lambda ~ Gamma(r, alpha), mu ~ Gamma(s, beta), exponential
    lifetime with rate mu, Poisson purchases at rate lambda while alive."""
    rng = np.random.default_rng(seed)
    T = np.broadcast_to(np.asarray(T, dtype=float), (n,)).copy()
    lam = rng.gamma(r, 1.0 / alpha, n)
    mu = rng.gamma(s, 1.0 / beta, n)
    life = rng.exponential(1.0, n) / mu
    active = np.minimum(life, T)
    x = rng.poisson(lam * active)
    t_x = np.where(x > 0, active * rng.random(n) ** (1.0 / np.maximum(x, 1)), 0.0)
    x_h = rng.poisson(lam * np.clip(life - T, 0.0, holdout))
    return {"x": x.astype(float), "t_x": t_x, "T": T, "x_holdout": x_h.astype(float),
            "alive": life > T}


def simulate_spend(x, p, q, v, x_holdout=None, seed=0):
    """Gamma-Gamma spend: nu ~ Gamma(q, v); each transaction ~ Gamma(p, nu). Returns the mean
    value of the x calibration transactions (0 when x = 0) and the holdout total."""
    rng = np.random.default_rng(seed)
    x = np.asarray(x, dtype=float)
    nu = rng.gamma(q, 1.0 / v, x.size)
    calib = rng.gamma(np.where(x > 0, p * x, 1.0)) / nu
    zbar = np.where(x > 0, calib / np.maximum(x, 1), 0.0)
    if x_holdout is None:
        return zbar
    xh = np.asarray(x_holdout, dtype=float)
    hold = np.where(xh > 0, rng.gamma(np.where(xh > 0, p * xh, 1.0)) / nu, 0.0)
    return zbar, hold


@pytest.fixture(scope="session")
def cdnow():
    """The CDNOW sample (2,357 customers; weeks; zbar in dollars)."""
    return pd.read_csv(DATA / "cdnow_rfm_summary.csv")


@pytest.fixture(scope="session")
def sim():
    """The simulators, as a namespace: sim.bgnbd(...), sim.paretonbd(...), sim.spend(...)."""

    class Sim:
        bgnbd = staticmethod(simulate_bgnbd)
        paretonbd = staticmethod(simulate_paretonbd)
        spend = staticmethod(simulate_spend)

    return Sim
