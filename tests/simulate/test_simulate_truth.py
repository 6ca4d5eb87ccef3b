"""Ground truth: the closed forms agree with independent computations and with the futures the
simulation actually produced."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import integrate

from ltv.simulate import SimulationParams
from ltv.simulate.seasonality import build_calendar
from ltv.simulate.truth import expected_purchases_if_alive, p_alive

Z = 4.0
TRUTH_PARAMS = SimulationParams(alpha=20.0, beta=150.0, events=False)  # as in conftest.truth_sim


def _z_mean(diff: np.ndarray) -> float:
    return diff.mean() / (diff.std() / np.sqrt(len(diff)))


@pytest.mark.parametrize("realized, expected", [
    ("future_purchases", "expected_purchases"),
    ("future_spend", "expected_spend"),
    ("future_purchases", "expected_purchases_given_history"),
    ("future_spend", "expected_spend_given_history"),
])
def test_expectations_match_the_simulated_future(truth_sim, realized, expected):
    truth = truth_sim.read("ground_truth")
    diff = (truth[realized] - truth[expected]).to_numpy()
    assert truth[realized].sum() > 1000  # the horizon holds real signal
    assert abs(_z_mean(diff)) < Z
    # Also among the customers a model would rank highest (the top decile by expectation).
    top = truth[expected] >= truth[expected].quantile(0.9)
    assert abs(_z_mean(diff[top.to_numpy()])) < Z


def test_p_alive_is_calibrated(truth_sim):
    truth = truth_sim.read("ground_truth")
    p, alive = truth["p_alive"].to_numpy(), truth["alive_at_end"].to_numpy()
    bins = np.digitize(p, [0.2, 0.5, 0.8, 0.95])
    for b in range(5):
        sel = bins == b
        assert sel.sum() > 500, b
        se = np.sqrt((p[sel] * (1 - p[sel])).sum()) / sel.sum()
        assert abs(alive[sel].mean() - p[sel].mean()) < Z * se + 1e-9, b
    # Informative, not just calibrated: it separates the alive from the dead.
    assert p[alive].mean() - p[~alive].mean() > 0.3


def _season(p: SimulationParams, start: str, n_days: int):
    return build_calendar(pd.Timestamp(start), n_days, p)


def test_closed_forms_match_numerical_integration():
    p = SimulationParams()
    t_end, horizon = 400, 90
    cal = _season(p, "2022-01-01", t_end + horizon)
    season = lambda t: cal.factor[int(np.floor(t))]  # noqa: E731
    rng = np.random.default_rng(0)
    k = 8
    lam, mu = rng.gamma(0.8, 1 / 30, k), rng.gamma(0.8, 1 / 200, k)
    t_last = np.concatenate([[0.0, t_end - 0.3], rng.uniform(150, t_end, k - 2)])
    got_n = expected_purchases_if_alive(lam, mu, cal, t_end, horizon)
    got_p = p_alive(lam, mu, t_last, cal, t_end)
    for i in range(k):
        knots = np.arange(t_end, t_end + horizon + 1)
        ref_n = sum(integrate.quad(lambda t: lam[i] * season(t) * np.exp(-mu[i] * (t - t_end)),
                                   a, a + 1)[0] for a in knots[:-1])
        assert got_n[i] == pytest.approx(ref_n, rel=1e-9)

        def Lam(t):  # integrated intensity from t_last to t
            return lam[i] * (cal.integral(np.array(t)) - cal.integral(np.array(t_last[i])))

        edges = np.concatenate([[t_last[i]], np.arange(np.floor(t_last[i]) + 1, t_end + 1)])
        dead = sum(integrate.quad(lambda u: mu[i] * np.exp(-mu[i] * (u - t_last[i]) - Lam(u)),
                                  a, b, epsabs=0, epsrel=1e-12)[0] for a, b in zip(edges[:-1], edges[1:]))
        alive = np.exp(-mu[i] * (t_end - t_last[i]) - Lam(t_end))
        assert got_p[i] == pytest.approx(alive / (alive + dead), rel=1e-8, abs=1e-12)


def test_no_dropout_means_alive_for_sure():
    p = SimulationParams(dropout=False)
    cal = _season(p, "2022-01-01", 200)
    lam, mu = np.array([0.01, 0.2]), np.zeros(2)
    assert (p_alive(lam, mu, np.array([3.5, 100.0]), cal, 150) == 1).all()
    np.testing.assert_allclose(expected_purchases_if_alive(lam, mu, cal, 150, 30),
                               lam * cal.factor[150:180].sum())


def test_expected_purchases_match_a_thinning_monte_carlo(truth_sim):
    """Re-simulate the horizon of 40 alive customers 4,000 times each by thinning: a Poisson
    process at lam * max(season), kept with probability season(t) / max(season), cut at an
    exponential death (memoryless, so it restarts at the observation end)."""
    meta = json.loads((truth_sim.out / "params.json").read_text())
    start, end = pd.Timestamp(meta["start"]), pd.Timestamp(meta["observation_end"])
    t_end, horizon = (end - start).days, meta["horizon_days"]
    cal = _season(TRUTH_PARAMS, meta["start"], t_end + horizon)
    truth = truth_sim.read("ground_truth")
    sample = truth[truth["alive_at_end"]].sample(40, random_state=1)
    rng = np.random.default_rng(2)
    reps, peak = 4_000, cal.factor[t_end:].max()
    z = []
    for lam, mu, want in sample[["lambda", "mu", "expected_purchases"]].itertuples(index=False):
        n = rng.poisson(lam * peak * horizon, reps)
        t = t_end + horizon * rng.random(n.sum())
        death = np.repeat(t_end + rng.exponential(1 / mu, reps), n)
        keep = (rng.random(n.sum()) < cal.factor[t.astype(int)] / peak) & (t < death)
        counts = np.bincount(np.repeat(np.arange(reps), n)[keep], minlength=reps)
        # For rare buyers the sample variance can be 0; a count's variance is at least its mean.
        z.append((counts.mean() - want) / np.sqrt(max(counts.var(), want) / reps))
    z = np.array(z)
    assert abs(z.sum() / np.sqrt(len(z))) < Z
    assert np.abs(z).max() < 5.0, z.round(2)  # 40 customers: each gets a 5-SE allowance
