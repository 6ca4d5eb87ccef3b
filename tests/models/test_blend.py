"""Blend selection on validation windows: grid, weights, scale and forward selection."""

from __future__ import annotations

import numpy as np
import pytest
from math import comb

from ltv.evaluation import metrics
from ltv.models.blend import (Window, best_weights, forward_select, gain_share, level_free,
                              selection_score, simplex_grid)


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_simplex_grid_holds_every_weight_vector_once(k):
    grid = simplex_grid(k, steps=10)
    assert grid.shape == (comb(10 + k - 1, k - 1), k)
    np.testing.assert_allclose(grid.sum(axis=1), 1.0)
    assert (grid >= 0).all()
    assert len({tuple(np.round(r, 9)) for r in grid}) == len(grid)


def test_selection_score_is_the_four_reported_metrics():
    rng = np.random.default_rng(0)
    y = rng.gamma(0.5, 10, 1000) * (rng.random(1000) < 0.4)
    pred = y + rng.normal(0, 5, 1000).clip(-y)
    expected = (metrics.normalized_gini(y, pred) + metrics.spearman(y, pred)
                + metrics.top_decile_capture(y, pred) - metrics.decile_mape(y, pred))
    assert selection_score(y, pred) == pytest.approx(expected)


def shop(seed: int, n: int = 3000):
    """Labels with a ranker that knows who spends (right order, wrong level: half the
    spend) and a calibrated noisy predictor; a useless member of pure noise."""
    rng = np.random.default_rng(seed)
    value = rng.gamma(0.6, 50, n)
    y = value * (rng.random(n) < 0.5)
    ranker = 0.25 * value  # E[y | value] = 0.5 value: half the level
    noisy = value * rng.lognormal(0, 1.0, n) * np.exp(-0.5)
    noise = rng.gamma(0.6, 50, n)
    return Window(np.column_stack([ranker, noisy, noise]), y)


def test_selection_ignores_a_member_level_and_judges_its_shape():
    window = shop(1)
    flat = level_free(window)
    np.testing.assert_allclose(flat.predictions.sum(axis=0), window.y.sum())
    np.testing.assert_allclose(flat.predictions[:, 0] / window.predictions[:, 0],
                               window.y.sum() / window.predictions[:, 0].sum())
    # The ranker predicts half the level: as a single member it still wins on shape.
    blend = forward_select([window], ["ranker", "noisy", "noise"], min_gain=10.0)
    assert blend.members == ["ranker"]


def test_forward_selection_keeps_helpful_members_and_never_loses_to_the_best_single():
    windows = [shop(1), shop(2), shop(3)]
    names = ["ranker", "noisy", "noise"]
    blend = forward_select(windows, names, min_gain=0.005)
    assert "noise" not in blend.members
    assert blend.members[0] == "ranker"
    np.testing.assert_allclose(blend.weights.sum(), 1.0)
    single = max(best_weights([level_free(w) for w in windows], [i])[1] for i in range(3))
    assert blend.score >= single


def test_a_member_that_does_not_help_by_min_gain_is_left_out():
    windows = [shop(4)]
    alone = forward_select(windows, ["ranker", "noisy", "noise"], min_gain=10.0)
    assert alone.members == ["ranker"] and alone.weights.tolist() == [1.0]


def test_a_gain_that_is_noise_does_not_add_a_member():
    """Two members with the same signal and independent noise: a blend of them is better
    in expectation only by a hair; on a small window the bootstrap must not trust it."""
    rng = np.random.default_rng(7)
    n = 300
    value = rng.gamma(0.6, 50, n)
    y = value * (rng.random(n) < 0.5)
    a = value * rng.lognormal(0, 0.05, n)
    b = rng.permutation(value)  # useless: it can only look helpful by chance
    window = Window(np.column_stack([a, b]), y)
    assert gain_share([window], ([0], np.ones(1)), ([0, 1], np.array([0.9, 0.1]))) < 0.9
    assert forward_select([window], ["a", "b"], min_gain=0.0).members == ["a"]


def test_a_real_gain_passes_the_bootstrap():
    windows = [shop(1), shop(2)]
    share = gain_share([level_free(w) for w in windows], ([2], np.ones(1)),
                       ([2, 0], np.array([0.0, 1.0])))
    assert share == 1.0  # replacing pure noise by the ranker helps in every resample
