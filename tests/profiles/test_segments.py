"""RFM scores, named segments and LTV tiers on hand-made rows, and their stability."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from ltv.errors import LTVError, SchemaError
from ltv.profiles.segments import GRID, SEGMENTS, SegmentRules, segment_name


def rows(recency, frequency, spend) -> pd.DataFrame:
    """Feature-table rows: days since last purchase, purchase days, net spend."""
    n = len(recency)
    return pd.DataFrame({"customer_id": [f"c{i}" for i in range(n)],
                         "days_since_last": np.asarray(recency, float),
                         "frequency": np.asarray(frequency, float) - 1,  # BTYD: repeat days
                         "spend_total": np.asarray(spend, float)})


REFERENCE = rows(np.arange(1, 101), np.arange(1, 101), np.arange(1, 101) * 10.0)


def test_cut_points_are_the_reference_quintiles():
    rules = SegmentRules().fit(REFERENCE)
    # numpy's linear quantiles of 1..100 at 0.2, 0.4, 0.6, 0.8
    assert rules.cuts["recency_days"] == pytest.approx([20.8, 40.6, 60.4, 80.2])
    assert rules.cuts["frequency"] == pytest.approx([20.8, 40.6, 60.4, 80.2])
    assert rules.cuts["monetary"] == pytest.approx([208, 406, 604, 802])


def test_scores_count_the_cut_points_below_the_value():
    rules = SegmentRules().fit(REFERENCE)
    new = rows([1, 20.8, 21, 50, 80.2, 80.3, 500], [1, 20.8, 21, 50, 80.2, 80.3, 500],
               [0, 208, 209, 500, 802, 803, 5000])
    got = rules.assign(new)
    # brute force: how many of the four cut points lie strictly below each value
    below = lambda v, cuts: sum(c < v for c in cuts)  # noqa: E731
    r = [5 - below(v, rules.cuts["recency_days"]) for v in new["days_since_last"]]
    f = [1 + below(v + 1, rules.cuts["frequency"]) for v in new["frequency"]]
    m = [1 + below(v, rules.cuts["monetary"]) for v in new["spend_total"]]
    assert got["r_score"].tolist() == r == [5, 5, 4, 3, 2, 1, 1]
    assert got["f_score"].tolist() == f == [1, 1, 2, 3, 4, 5, 5]
    assert got["m_score"].tolist() == m == [1, 1, 2, 3, 4, 5, 5]


@pytest.mark.parametrize("recency, purchase_days, segment", [
    (1, 100, "champions"),       # bought yesterday, most frequent
    (1, 1, "new"),               # bought yesterday, once
    (30, 1, "promising"),        # R 4, F 1
    (30, 30, "potential_loyalist"),
    (50, 50, "need_attention"),  # R 3, F 3
    (50, 90, "loyal"),
    (70, 70, "at_risk"),         # 70 > 60.4: R 2; F 4
    (90, 100, "cant_lose"),      # long gone, used to buy most often
    (90, 1, "lost"),
    (70, 1, "hibernating"),
    (50, 1, "about_to_sleep"),
])
def test_named_segments_follow_the_documented_grid(recency, purchase_days, segment):
    rules = SegmentRules().fit(REFERENCE)
    got = rules.assign(rows([recency], [purchase_days], [100.0]))
    r, f = int(got["r_score"][0]), int(got["f_score"][0])
    assert got["rfm_segment"][0] == segment == segment_name(r, f)


def test_the_grid_names_every_cell_and_rejects_bad_scores():
    assert {GRID[f][r] for f in range(5) for r in range(5)} | {"prospect"} == set(SEGMENTS)
    assert segment_name(5, 5) == "champions" and segment_name(1, 5) == "cant_lose"
    with pytest.raises(LTVError, match="outside 1..5"):
        segment_name(0, 3)


def test_assignment_is_stable_when_the_population_changes(tmp_path):
    rng = np.random.default_rng(0)
    pop = rows(rng.exponential(60, 500), 1 + rng.poisson(2, 500), rng.gamma(2, 50, 500))
    rules = SegmentRules().fit(pop)
    alone = rules.assign(pop.iloc[[3, 7, 11]]).reset_index(drop=True)
    crowd = rules.assign(pd.concat([pop, rows([1e4] * 50, [1] * 50, [0] * 50)]))
    assert crowd.iloc[[3, 7, 11]].reset_index(drop=True).equals(alone)
    rules.save(tmp_path / "rules.json")
    again = SegmentRules.load(tmp_path / "rules.json")
    assert again.assign(pop).equals(rules.assign(pop))
    # refitting on another population moves cut points, which is what freezing avoids
    moved = SegmentRules().fit(pop.assign(days_since_last=pop["days_since_last"] * 3))
    assert not moved.assign(pop)["r_score"].equals(rules.assign(pop)["r_score"])


def test_ties_keep_equal_values_together_and_leave_scores_empty():
    # 60% of customers bought once: the 20% and 40% cut points are both 1
    purchase_days = [1] * 60 + [2] * 20 + [5] * 20
    rules = SegmentRules().fit(rows(np.arange(100), purchase_days, np.ones(100)))
    got = rules.assign(rows([1, 1, 1], [1, 2, 5], [1, 1, 1]))
    assert got["f_score"].tolist() == [1, 4, 5]  # nobody gets F 2 or 3


def test_ltv_tiers_take_the_top_1_9_40_percent_at_fit_and_stay_frozen():
    ltv = np.arange(1, 1001, dtype=float)
    pop = rows(np.ones(1000), np.ones(1000), np.ones(1000))
    rules = SegmentRules().fit(pop, ltv)
    tiers = pd.Series(rules.assign(pop, ltv)["ltv_tier"])
    assert tiers.value_counts().to_dict() == {"bronze": 500, "silver": 400, "gold": 90,
                                               "platinum": 10}
    assert rules.tiers([1e6, 950.0, 0.0, np.nan]).tolist() == ["platinum", "gold", "bronze",
                                                               None]


def test_history_without_a_purchase_gets_no_scores():
    rules = SegmentRules().fit(REFERENCE)
    got = rules.assign(rows([np.nan, 5], [1, 1], [-20.0, 10]))
    assert got["r_score"].isna().tolist() == [True, False]
    assert got["rfm_segment"].isna().tolist() == [True, False]
    assert got["rfm_segment"][1] == "new"
    # and a reference population's rows without a purchase shape no cut point
    with_returns = pd.concat([REFERENCE, rows([np.nan] * 50, [1] * 50, [-5.0] * 50)])
    assert SegmentRules().fit(with_returns).cuts == SegmentRules().fit(REFERENCE).cuts


def test_bad_inputs_and_files_are_clear_errors(tmp_path):
    with pytest.raises(SchemaError, match="spend_total"):
        SegmentRules().fit(REFERENCE.drop(columns="spend_total"))
    with pytest.raises(LTVError, match="not fitted"):
        SegmentRules().assign(REFERENCE)
    with pytest.raises(LTVError, match="3 values for 100"):
        SegmentRules().fit(REFERENCE, [1.0, 2.0, 3.0])
    with pytest.raises(LTVError, match="without LTV"):
        SegmentRules().fit(REFERENCE).tiers([1.0])
    bad = tmp_path / "rules.json"
    bad.write_text(json.dumps({"format": "something else"}))
    with pytest.raises(LTVError, match="not a segment rules file"):
        SegmentRules.load(bad)
