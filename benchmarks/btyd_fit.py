"""Fit time and parameter recovery of the BTYD models on 1M simulated customers.

    .venv/bin/python benchmarks/btyd_fit.py [--customers 1000000] [--seed 0] [--continuous]
                                            [--repeat 1]

Simulates customers from known parameters (in days, the CDNOW estimates converted from weeks),
with first purchases spread over two years (T uniform on 1..730 days) and purchase times
rounded down to whole days as in a day-level RFM summary (--continuous keeps exact times, so
that nothing can be shared between customers). Then fits BG/NBD, Pareto/NBD and Gamma-Gamma,
and prints the wall-clock fit time (including the compression into unique (x, t_x, T)
triples) and the recovered parameters next to the true ones, with the machine's load average
before and after (the 2 cores may be shared). With --repeat N each model is fitted N times:
median wall time (range) and median CPU time of the process. Standalone: only numpy and ltv.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from ltv.models.btyd import BetaGeo, GammaGamma, ParetoNBD

BG_TRUE = {"r": 0.243, "alpha": 4.414 * 7, "a": 0.793, "b": 2.426}
PN_TRUE = {"r": 0.55, "alpha": 10.58 * 7, "s": 0.61, "beta": 11.67 * 7}
GG_TRUE = {"p": 6.25, "q": 3.74, "v": 15.44}


def simulate_bgnbd(n, rng, r, alpha, a, b, T):
    lam = rng.gamma(r, 1.0 / alpha, n)
    p = rng.beta(a, b, n)
    opportunities = rng.poisson(lam * T)
    x = np.minimum(opportunities, rng.geometric(p))  # drops out right after purchase J
    # Given N Poisson arrivals on (0, T], the x-th is T * Beta(x, N - x + 1).
    t_x = np.where(x > 0, T * rng.beta(np.maximum(x, 1), opportunities - x + 1), 0.0)
    return x, t_x


def simulate_paretonbd(n, rng, r, alpha, s, beta, T):
    lam = rng.gamma(r, 1.0 / alpha, n)
    mu = rng.gamma(s, 1.0 / beta, n)
    active = np.minimum(rng.exponential(1.0, n) / mu, T)
    x = rng.poisson(lam * active)
    # The last of x uniform arrivals on (0, active] is active * U^(1/x).
    t_x = np.where(x > 0, active * rng.random(n) ** (1.0 / np.maximum(x, 1)), 0.0)
    return x, t_x


def simulate_spend(x, rng, p, q, v):
    nu = rng.gamma(q, 1.0 / v, x.size)
    total = rng.gamma(np.maximum(p * x, 1e-300), 1.0) / nu
    return np.where(x > 0, total / np.maximum(x, 1), 0.0)


def report(name, model, seconds, true, cpu=None):
    fitted = model.params_
    rel = ", ".join(f"{k}={fitted[k]:.4g} (true {true[k]:.4g}, {fitted[k] / true[k] - 1:+.1%})"
                    for k in true)
    median = float(np.median(seconds))
    spread = f" ({min(seconds):.2f}-{max(seconds):.2f}, cpu {np.median(cpu):.2f})" \
        if len(seconds) > 1 else ""
    print(f"{name:<11} fit {median:6.2f} s{spread}  converged={model.converged_}  {rel}")


def timed(fit, repeat):
    """Run `fit` `repeat` times: (last result, wall seconds, CPU seconds of this process)."""
    walls, cpus = [], []
    for _ in range(repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        result = fit()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return result, walls, cpus


def load():
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--continuous", action="store_true", help="do not round times to days")
    ap.add_argument("--repeat", type=int, default=1, help="fits per model (median reported)")
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    n = args.customers
    T = rng.integers(1, 731, n).astype(float)

    def day(t_x):
        return t_x if args.continuous else np.floor(t_x)

    x_bg, tx_bg = simulate_bgnbd(n, rng, T=T, **BG_TRUE)
    x_pn, tx_pn = simulate_paretonbd(n, rng, T=T, **PN_TRUE)
    tx_bg, tx_pn = day(tx_bg), day(tx_pn)
    spend = simulate_spend(x_bg, rng, **GG_TRUE)
    print(f"{n:,} customers, T uniform on 1..730 days, "
          f"{'continuous times' if args.continuous else 'times rounded to days'}")
    for name, xs, txs in (("BG/NBD", x_bg, tx_bg), ("Pareto/NBD", x_pn, tx_pn)):
        uniq = np.unique(np.stack([xs, txs, T]), axis=1).shape[1]
        print(f"  {name} data: mean frequency {xs.mean():.3f}, {uniq:,} unique (x, t_x, T)")

    print(f"  load average (1, 5, 15 min) before: {load()}")
    for name, cls, xs, txs, true in (("BG/NBD", BetaGeo, x_bg, tx_bg, BG_TRUE),
                                     ("Pareto/NBD", ParetoNBD, x_pn, tx_pn, PN_TRUE)):
        model, walls, cpus = timed(lambda c=cls, a=xs, b=txs: c().fit(a, b, T), args.repeat)
        report(name, model, walls, true, cpus)
    gg, walls, cpus = timed(lambda: GammaGamma().fit(x_bg, spend), args.repeat)
    report("Gamma-Gamma", gg, walls, GG_TRUE, cpus)
    print(f"  (Gamma-Gamma fitted on the {gg.n_:,} customers with a repeat purchase)")
    print(f"  load average (1, 5, 15 min) after: {load()}")


if __name__ == "__main__":
    main()
