"""Calibration maps: isotonic against the min-max formula, Platt against known parameters."""

from __future__ import annotations

import numpy as np
import pytest

from ltv.errors import ConfigError, LTVError
from ltv.profiles.calibration import Calibrator, fit_calibrator, isotonic_blocks


def minmax_isotonic(y: np.ndarray) -> np.ndarray:
    """The isotonic fit of y (x already sorted, distinct) by its closed form:
    fit_i = max over j <= i of min over k >= i of mean(y[j..k])."""
    n = len(y)
    return np.array([max(min(y[j:k + 1].mean() for k in range(i, n)) for j in range(i + 1))
                     for i in range(n)])


def test_pool_adjacent_violators_by_hand():
    x, fitted, rows = isotonic_blocks(np.array([0.1, 0.2, 0.3, 0.4]),
                                      np.array([1.0, 0.0, 1.0, 1.0]))
    # the first two rows violate the order and are pooled; the last two are equal, pooled too
    assert x.tolist() == pytest.approx([0.15, 0.35])
    assert fitted.tolist() == pytest.approx([0.5, 1.0])
    assert rows.tolist() == [2, 2]


@pytest.mark.parametrize("seed", range(5))
def test_isotonic_matches_the_min_max_formula(seed):
    rng = np.random.default_rng(seed)
    x = np.sort(rng.random(40))
    y = (rng.random(40) < x).astype(float)
    _, fitted, rows = isotonic_blocks(x, y)
    assert np.repeat(fitted, rows) == pytest.approx(minmax_isotonic(y))
    cal = fit_calibrator(x, y, "isotonic")
    assert np.all(np.diff(cal.transform(np.linspace(0, 1, 501))) >= 0)


def test_tied_scores_get_one_value():
    cal = fit_calibrator(np.array([0.5, 0.5, 0.5, 0.9]), np.array([1.0, 0.0, 0.0, 1.0]))
    assert cal.transform([0.5]).tolist() == pytest.approx([1 / 3])


def test_platt_recovers_the_slope_and_intercept_it_was_simulated_with():
    rng = np.random.default_rng(1)
    raw = rng.uniform(0.02, 0.98, 40_000)
    logit = np.log(raw / (1 - raw))
    truth = 1 / (1 + np.exp(-(2.0 * logit - 0.5)))
    y = (rng.random(raw.size) < truth).astype(float)
    cal = fit_calibrator(raw, y, "platt")
    assert cal.params["a"] == pytest.approx(2.0, abs=0.06)
    assert cal.params["b"] == pytest.approx(-0.5, abs=0.05)
    assert np.all(np.diff(cal.transform(np.linspace(0, 1, 101))) >= 0)


def test_platt_never_reverses_the_order():
    raw = np.linspace(0.1, 0.9, 200)
    y = (raw < 0.5).astype(float)  # a classifier that is exactly backwards
    cal = fit_calibrator(raw, y, "platt")
    assert cal.params["a"] == 0.0
    assert cal.transform([0.1, 0.9]) == pytest.approx([0.5, 0.5])


def test_round_trip_and_errors():
    cal = fit_calibrator(np.array([0.1, 0.4, 0.8]), np.array([0.0, 1.0, 1.0]))
    again = Calibrator.from_dict(cal.to_dict())
    assert again.transform([0.2, 0.6]).tolist() == cal.transform([0.2, 0.6]).tolist()
    assert fit_calibrator([0.2, 0.3], [0, 1], "none").transform([0.25]).tolist() == [0.25]
    with pytest.raises(ConfigError, match="beta"):
        fit_calibrator([0.2, 0.3], [0, 1], "beta")
    with pytest.raises(LTVError, match="non-0/1"):
        fit_calibrator([0.2, 0.3], [0, 2])
    with pytest.raises(LTVError, match="equal 1-D"):
        fit_calibrator([0.2, 0.3], [0])
