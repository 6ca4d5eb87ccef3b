"""The champion/challenger gate on predictions with known scores: closed-form Ginis and
biases, the margin, the bootstrap's false-promotion rate on equally good models, guards."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ltv.errors import ConfigError
from ltv.monitoring.gate import GateConfig, judge, parse_guards


def frame(pred: np.ndarray) -> pd.DataFrame:
    n = len(pred)
    return pd.DataFrame({"customer_id": [f"c{i}" for i in range(n)], "model": "m",
                         "ltv": pred, "ltv_lo": pred - np.abs(pred), "ltv_hi": pred + np.abs(pred),
                         "p_active": np.full(n, 0.5)})


@pytest.fixture(scope="module")
def spend() -> np.ndarray:
    rng = np.random.default_rng(1)
    return rng.lognormal(3, 1, 400) * (rng.random(400) < 0.6)


def test_a_perfect_ranking_beats_a_reversed_one_by_exactly_two_gini(spend):
    result = judge(frame(-spend + spend.max()), frame(spend.copy()), spend, GateConfig())
    # Closed form: the ideal order has normalized Gini 1, the reversed order -1.
    assert result.champion["gini"] == pytest.approx(-1.0)
    assert result.challenger["gini"] == pytest.approx(1.0)
    assert result.improvement["gini"] == pytest.approx(2.0)
    # Every resample keeps both orders (duplicates are ties of equal value): [2, 2].
    assert result.bootstrap["gini"]["low"] == pytest.approx(2.0)
    assert result.bootstrap["gini"]["share_improved"] == 1.0
    assert result.promote and result.reason.startswith("promoted the challenger")


def test_an_equal_model_is_kept_below_the_margin(spend):
    pred = spend + np.random.default_rng(2).normal(0, 20, spend.size)
    result = judge(frame(pred), frame(pred.copy()), spend, GateConfig(margin=0.01))
    assert result.improvement["gini"] == 0.0
    assert not result.promote
    assert "below the margin 0.0100" in result.reason


def test_the_bootstrap_keeps_equally_good_challengers_out():
    """Champion and challenger are equally good by construction (the same noise level);
    any gain is chance. Without the bootstrap a margin of 0.01 promotes often; with it,
    at most about (1 - 0.9) / 2 = 5% of the time."""
    promoted = {"bootstrap": 0, "margin only": 0}
    seeds = range(30)
    for seed in seeds:
        rng = np.random.default_rng(100 + seed)
        y = rng.lognormal(3, 1, 300) * (rng.random(300) < 0.6)
        old, new = (frame(y + rng.normal(0, 40, y.size)) for _ in range(2))
        for key, rounds in (("bootstrap", 100), ("margin only", 0)):
            promoted[key] += judge(old, new, y, GateConfig(bootstrap_rounds=rounds,
                                                           guards={})).promote
    assert promoted["margin only"] >= 6  # chance alone clears the margin this often
    assert promoted["bootstrap"] <= 3


def test_a_guard_blocks_a_better_ranking_that_lost_its_level(spend):
    champion = spend + np.random.default_rng(3).normal(0, 30, spend.size)
    config = GateConfig(guards={"abs_bias": 0.1})
    result = judge(frame(champion), frame(2 * spend), spend, config)
    assert result.challenger["abs_bias"] == pytest.approx(1.0)  # sum(2y) / sum(y) - 1
    assert result.improvement["gini"] > 0.1 and result.bootstrap["gini"]["low"] > 0
    assert not result.promote
    assert "guard abs_bias worsened by" in result.reason
    assert judge(frame(champion), frame(2 * spend), spend,
                 GateConfig(guards={})).promote  # the same challenger, no guard


def test_a_lower_is_better_primary_improves_downwards(spend):
    result = judge(frame(2 * spend), frame(spend.copy()), spend,
                   GateConfig(primary="abs_bias", guards={}))
    assert result.improvement["abs_bias"] == pytest.approx(1.0)
    assert result.promote


def test_predictions_for_other_customers_are_refused(spend):
    other = frame(spend.copy())
    other["customer_id"] = other["customer_id"][::-1].to_numpy()
    with pytest.raises(ConfigError, match="same customers"):
        judge(frame(spend.copy()), other, spend, GateConfig())


@pytest.mark.parametrize("kwargs, message", [
    ({"primary": "accuracy"}, "primary metric 'accuracy'"),
    ({"margin": -0.1}, "margin=-0.1"),
    ({"guards": {"nope": 0.1}}, "guard metric 'nope'"),
    ({"guards": {"mae": -1}}, "guard mae=-1"),
    ({"confidence": 1.5}, "confidence=1.5"),
    ({"bootstrap_rounds": -1}, "bootstrap_rounds=-1"),
])
def test_bad_settings_name_the_parameter(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        GateConfig(**kwargs)


def test_parse_guards():
    assert parse_guards("decile_mape=0.1, abs_bias=0.05") == {"decile_mape": 0.1,
                                                              "abs_bias": 0.05}
    assert parse_guards("none") == {} and parse_guards(None) is None
    with pytest.raises(ConfigError, match="'abs_bias' is not metric=number"):
        parse_guards("abs_bias")
    with pytest.raises(ConfigError, match="'mae=x' is not metric=number"):
        parse_guards("mae=x")


def test_decile_mape_is_not_compared_against_a_champion_that_does_not_rank(spend):
    """A constant champion's deciles are slices of ties, each near the overall mean: its
    decile MAPE is near 0 and says nothing. A challenger that ranks (here: right on average,
    noisy per customer) must not be blocked by it; against a champion that does rank, the
    same guard still applies."""
    rng = np.random.default_rng(5)
    constant = np.full(spend.size, spend.mean())
    ranking = spend * rng.lognormal(0, 1.2, spend.size) / np.exp(1.2 ** 2 / 2)
    config = GateConfig(guards={"decile_mape": 0.1}, bootstrap_rounds=0)
    result = judge(frame(constant), frame(ranking), spend, config)
    assert result.champion["gini"] == pytest.approx(0.0, abs=1e-12)
    assert result.challenger["decile_mape"] > result.champion["decile_mape"] + 0.1
    assert result.promote and "decile_mape not compared" in result.reason
    # a champion that ranks, and a challenger that ranks perfectly but has lost its scale
    ranked_champion = spend * rng.lognormal(0, 0.3, spend.size)
    squared = spend ** 2 * spend.sum() / (spend ** 2).sum()  # same total, perfect order
    again = judge(frame(ranked_champion), frame(squared), spend, config)
    assert again.champion["gini"] > 0 and again.improvement["gini"] > 0.01
    assert not again.promote and "guard decile_mape worsened" in again.reason
