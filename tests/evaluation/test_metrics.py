"""Metrics against independent references: hand arithmetic, scipy, brute force, known values.

The brute-force references below are written for clarity, not speed: explicit loops over
pairs (AUC), over the points of the Lorenz curve (Gini), and over every ordering of tied
rows (the tie rule: a metric on tied predictions is its mean over all tie-breaks).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from ltv.errors import LTVError
from ltv.evaluation import metrics as m

SETTINGS = settings(max_examples=60, deadline=None)


# ---------------------------------------------------------------- brute-force references


def brute_auc(y, p):
    """Every (positive, negative) pair: 1 if the positive scores higher, 1/2 on a tie."""
    pos = [pi for yi, pi in zip(y, p) if yi == 1]
    neg = [pi for yi, pi in zip(y, p) if yi == 0]
    wins = sum(1.0 if a > b else 0.5 if a == b else 0.0 for a in pos for b in neg)
    return wins / (len(pos) * len(neg))


def lorenz_area(values_in_order):
    """Trapezoid area under the explicit points (i/n, cumulative share) from (0, 0)."""
    total = sum(values_in_order)
    n = len(values_in_order)
    points = [(0.0, 0.0)]
    cum = 0.0
    for i, v in enumerate(values_in_order, start=1):
        cum += v
        points.append((i / n, cum / total))
    return sum((x1 - x0) * (y0 + y1) / 2 for (x0, y0), (x1, y1) in zip(points, points[1:]))


def brute_gini_no_ties(y, p):
    model = [yi for _, yi in sorted(zip(p, y), key=lambda t: -t[0])]
    ideal = sorted(y, reverse=True)
    return (2 * lorenz_area(model) - 1) / (2 * lorenz_area(ideal) - 1)


def orderings(p):
    """Every row order consistent with descending p (all tie-breaks), with repetitions
    weighted equally: sort each permutation of the rows stably by -p."""
    n = len(p)
    for perm in itertools.permutations(range(n)):
        yield sorted(perm, key=lambda i: -p[i])


def brute_gini_ties(y, p):
    raws = [2 * lorenz_area([y[i] for i in order]) - 1 for order in orderings(p)]
    ideal = 2 * lorenz_area(sorted(y, reverse=True)) - 1
    return (sum(raws) / len(raws)) / ideal


def brute_capture_ties(y, p, k):
    """Mean over tie-breaks of the actual value of the top k rows (k whole) / total."""
    caps = [sum(y[i] for i in order[:k]) / sum(y) for order in orderings(p)]
    return sum(caps) / len(caps)


def wang_raw_gini(y, p):
    """The reference code's raw Gini: 2 * mean(cumulative share over predicted rank) - 1."""
    order = sorted(range(len(y)), key=lambda i: -p[i])
    cum, shares = 0.0, []
    for i in order:
        cum += y[i]
        shares.append(cum / sum(y))
    return 2 * sum(shares) / len(shares) - 1


# ---------------------------------------------------------------- hand-computed examples


def test_gini_hand_example():
    # y_true = [1, 0, 3, 2], y_pred = [0.9, 0.1, 0.5, 0.2]; total 6.
    # Model order (pred desc): rows 0, 2, 3, 1 -> values 1, 3, 2, 0 -> cum 1, 4, 6, 6
    #   gain 0, 1/6, 4/6, 1, 1; trapezoids (width 1/4): (0+1/6)/2 + (1/6+4/6)/2 + (4/6+1)/2
    #   + (1+1)/2 = 28/12 -> area 7/12 -> raw Gini 2*7/12 - 1 = 1/6.
    # Ideal order: 3, 2, 1, 0 -> cum 3, 5, 6, 6 -> gain 0, 1/2, 5/6, 1, 1
    #   trapezoids: 3/12 + 8/12 + 11/12 + 12/12 = 34/12 -> area 17/24 -> raw 5/12.
    # Normalized: (1/6) / (5/12) = 0.4.
    assert m.normalized_gini([1, 0, 3, 2], [0.9, 0.1, 0.5, 0.2]) == pytest.approx(0.4)


def test_gini_tie_does_not_peek_at_y_true():
    # Two customers tied on the prediction: the block is crossed on a straight line, gain
    # 0, 1/2, 1 -> raw 0 -> normalized 0, whichever row comes first. (Breaking the tie by
    # row order would give -1 in one order and +1 in the other.)
    assert m.normalized_gini([0, 10], [1, 1]) == pytest.approx(0.0)
    assert m.normalized_gini([10, 0], [1, 1]) == pytest.approx(0.0)


def test_top_decile_capture_hand_examples():
    # n = 10, so the top 10% is one customer: the model ranks row 1 (value 1) first.
    # Capture 1/10; the ideal (row 0, value 5) captures 5/10.
    y = [5, 1, 1, 1, 1, 1, 0, 0, 0, 0]
    p = [0.5, 0.9, 0.4, 0.4, 0.3, 0.3, 0.2, 0.1, 0.1, 0.0]
    assert m.top_decile_capture(y, p) == pytest.approx(0.1)
    assert m.top_decile_capture(y, y) == pytest.approx(0.5)
    # n = 15: 10% is 1.5 customers: all of the first (6/10) and half of the second (3/10).
    y15 = [6, 3, 1] + [0] * 12
    assert m.top_decile_capture(y15, y15) == pytest.approx(0.6 + 0.5 * 0.3)
    # share=0.2 of 10 is two customers: rows 1 and 0 -> (1 + 5) / 10.
    assert m.top_decile_capture(y, p, share=0.2) == pytest.approx(0.6)


def test_decile_table_hand_example():
    # 20 rows, two per decile: decile k has predictions (k, k) and actuals (k, k + 2), so
    # mean_actual = k + 1 and ape = 1 / (k + 1). Rows are shuffled on purpose.
    k = np.repeat(np.arange(1, 11), 2).astype(float)
    actual = k + np.tile([0.0, 2.0], 10)
    shuffle = np.random.default_rng(0).permutation(20)
    table = m.decile_table(actual[shuffle], k[shuffle])
    assert list(table.columns[:4]) == ["decile", "n", "mean_pred", "mean_actual"]
    assert table["decile"].tolist() == list(range(1, 11))
    assert table["n"].tolist() == [2] * 10
    np.testing.assert_allclose(table["mean_pred"], np.arange(1, 11))
    np.testing.assert_allclose(table["mean_actual"], np.arange(2, 12))
    np.testing.assert_allclose(table["ape"], 1 / np.arange(2, 12))
    # decile MAPE = mean of 1/2, 1/3, ..., 1/11 = (H_11 - 1) / 10
    harmonic_11 = sum(1 / j for j in range(1, 12))
    assert m.decile_mape(actual[shuffle], k[shuffle]) == pytest.approx((harmonic_11 - 1) / 10)


def test_decile_mape_skips_a_zero_decile():
    # As above, but decile 1 has actuals (0, 0): its ape is undefined, so the average runs
    # over deciles 2..10 only: mean of 1/3, ..., 1/11.
    k = np.repeat(np.arange(1, 11), 2).astype(float)
    actual = k + np.tile([0.0, 2.0], 10)
    actual[:2] = 0.0
    table = m.decile_table(actual, k)
    assert np.isnan(table["ape"].iloc[0])
    assert m.decile_mape(actual, k) == pytest.approx(np.mean(1 / np.arange(3, 12)))
    assert np.isnan(m.decile_mape(np.zeros(20), k))  # every decile skipped


def test_decile_tied_block_across_an_edge():
    # bins=2, pred [1, 2, 2, 3], actual [0, 4, 8, 10]. The tied block (2, 2) straddles the
    # edge; each side gets its mean actual 6. Bucket 1: pred (1, 2) -> 1.5, actual (0, 6) -> 3,
    # ape 1.5/3 = 0.5. Bucket 2: pred (2, 3) -> 2.5, actual (6, 10) -> 8, ape 5.5/8 = 0.6875.
    # MAPE (0.5 + 0.6875) / 2 = 0.59375, in either row order.
    assert m.decile_mape([0, 4, 8, 10], [1, 2, 2, 3], bins=2) == pytest.approx(0.59375)
    assert m.decile_mape([8, 0, 10, 4], [2, 1, 3, 2], bins=2) == pytest.approx(0.59375)


def test_decile_negative_mean_actual_uses_its_absolute_value():
    # bins=1: mean pred 1, mean actual (-4 + 2) / 2 = -1 -> |1 - (-1)| / |-1| = 2.
    assert m.decile_mape([-4, 2], [1, 1], bins=1) == pytest.approx(2.0)


def test_auc_hand_examples():
    # Pairs (pos, neg): 0.35 > 0.1 yes, 0.35 > 0.4 no, 0.8 > both yes -> 3/4.
    assert m.auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)
    assert m.auc([0, 1], [0.5, 0.5]) == pytest.approx(0.5)  # a tie counts 1/2
    assert m.auc([True, False, True], [0.9, 0.1, 0.8]) == pytest.approx(1.0)
    assert np.isnan(m.auc([1, 1, 1], [0.2, 0.3, 0.4]))  # one class only


def test_error_metrics_hand_example():
    # t = [1, 2, 3, 4], p = [2, 2, 2, 6]: errors 1, 0, -1, 2.
    t, p = [1, 2, 3, 4], [2, 2, 2, 6]
    assert m.mae(t, p) == pytest.approx(1.0)  # (1 + 0 + 1 + 2) / 4
    assert m.rmse(t, p) == pytest.approx(math.sqrt(1.5))  # sqrt((1 + 0 + 1 + 4) / 4)
    # mean t 2.5 -> SS_tot 2.25 + 0.25 + 0.25 + 2.25 = 5; SS_res 6 -> 1 - 6/5
    assert m.r2(t, p) == pytest.approx(-0.2)
    assert m.bias(t, p) == pytest.approx(0.2)  # 12 / 10 - 1
    assert np.isnan(m.r2([3, 3], [1, 2]))
    assert np.isnan(m.bias([0, 0], [1, 2]))
    assert np.isnan(m.bias([-5, 1], [1, 2]))


def test_interval_coverage_hand_example():
    # 1 in [0, 1] yes (ends included), 2 in [2, 3] yes, 3 in [4, 5] no, 4 in [0, 3] no.
    assert m.interval_coverage([1, 2, 3, 4], [0, 2, 4, 0], [1, 3, 5, 3]) == 0.5


def test_calibration_table_and_brier_hand_example():
    p = [0.05, 0.15, 0.15, 0.3, 1.0]
    y = [0, 1, 0, 1, 1]
    table = m.calibration_table(y, p)
    # 0.3 sits on the edge of bin 3 ([0.3, 0.4)); 1.0 goes into the last bin.
    assert table["bin"].tolist() == [0, 1, 3, 9]
    assert table["n"].tolist() == [1, 2, 1, 1]
    np.testing.assert_allclose(table["mean_pred"], [0.05, 0.15, 0.3, 1.0])
    np.testing.assert_allclose(table["observed_rate"], [0.0, 0.5, 1.0, 1.0])
    np.testing.assert_allclose(table["lo"], [0.0, 0.1, 0.3, 0.9])
    # (0.05^2 + 0.85^2 + 0.15^2 + 0.7^2 + 0^2) / 5 = 1.2375 / 5
    assert m.brier(y, p) == pytest.approx(0.2475)


def test_gain_curve_shape():
    y = np.array([1.0, 0.0, 3.0, 2.0])
    curve = m.gain_curve(y, [0.9, 0.1, 0.5, 0.2])
    np.testing.assert_allclose(curve.x, [0, 0.25, 0.5, 0.75, 1])
    np.testing.assert_allclose(curve.model, [0, 1 / 6, 4 / 6, 1, 1])
    np.testing.assert_allclose(curve.ideal, [0, 3 / 6, 5 / 6, 1, 1])
    empty = m.gain_curve([0, 0], [1, 2])
    assert np.isnan(empty.model).all() and np.isnan(empty.ideal).all()


# ---------------------------------------------------------------- scipy and brute force


def test_gini_matches_brute_force_and_the_reference_offset():
    rng = np.random.default_rng(1)
    y = rng.gamma(0.6, 50, 200) * (rng.random(200) < 0.5)
    p = y + rng.normal(0, 30, 200)
    assert m.normalized_gini(y, p) == pytest.approx(brute_gini_no_ties(list(y), list(p)))
    # Our raw Gini is the reference's right Riemann sum minus exactly 1/n.
    curve = m.gain_curve(y, p)
    assert m._raw_gini(curve.model) == pytest.approx(wang_raw_gini(list(y), list(p)) - 1 / 200)


@SETTINGS
@given(st.lists(st.tuples(st.integers(-500, 5000).map(lambda c: c / 100), st.integers(0, 3)),
                min_size=2, max_size=6))
def test_gini_and_capture_with_ties_match_every_tie_break(rows):
    y = [r[0] for r in rows]
    p = [float(r[1]) for r in rows]
    if sum(y) <= 1e-9:  # cents: the total is exactly 0 or negative here
        assert np.isnan(m.normalized_gini(y, p))
        return
    ideal = 2 * lorenz_area(sorted(y, reverse=True)) - 1
    if ideal <= 1e-9:
        return
    assert m.normalized_gini(y, p) == pytest.approx(brute_gini_ties(y, p), rel=1e-7, abs=1e-7)
    k = max(1, len(y) // 2)
    share = k / len(y)
    assert m.top_decile_capture(y, p, share) == pytest.approx(
        brute_capture_ties(y, p, k), rel=1e-7, abs=1e-7)


@SETTINGS
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 4)), min_size=2, max_size=40))
def test_auc_matches_pairwise_and_gini_is_the_accuracy_ratio(rows):
    y = [int(r[0]) for r in rows]
    p = [r[1] / 4 for r in rows]
    if len(set(y)) < 2:
        assert np.isnan(m.auc(y, p))
        return
    a = m.auc(y, p)
    assert a == pytest.approx(brute_auc(y, p))
    # For a 0/1 outcome the normalized Gini of the gain curve is 2 * AUC - 1.
    assert m.normalized_gini(y, p) == pytest.approx(2 * a - 1)


@SETTINGS
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(-3, 3)), min_size=3, max_size=50))
def test_spearman_matches_scipy_with_ties(rows):
    t = [r[0] for r in rows]
    p = [r[1] for r in rows]
    ours = m.spearman(t, p)
    if len(set(t)) == 1 or len(set(p)) == 1:
        assert np.isnan(ours)
        return
    assert ours == pytest.approx(stats.spearmanr(t, p).statistic, abs=1e-12)


# ---------------------------------------------------------------- known values


def test_perfect_reversed_and_random_rankings():
    rng = np.random.default_rng(2)
    y = rng.lognormal(3, 1.5, 50_000) * (rng.random(50_000) < 0.3)
    assert m.normalized_gini(y, y) == pytest.approx(1.0)
    assert m.normalized_gini(y, 2 * y + 1) == pytest.approx(1.0)
    assert m.normalized_gini(y, -y) == pytest.approx(-1.0)
    assert abs(m.normalized_gini(y, rng.random(50_000))) < 0.03
    assert m.top_decile_capture(y, y) == pytest.approx(m.top_decile_capture(y, np.sqrt(y)))
    assert m.top_decile_capture(y, rng.random(50_000)) == pytest.approx(0.1, abs=0.03)
    assert m.spearman(y, y) == pytest.approx(1.0)
    assert m.decile_mape(y, y) == pytest.approx(0.0, abs=1e-12)
    y_active = (y > 0).astype(int)
    assert m.auc(y_active, y) == 1.0
    assert m.auc(y_active, -y) == 0.0
    assert m.auc(y_active, rng.random(50_000)) == pytest.approx(0.5, abs=0.02)


def test_gini_with_returns_and_degenerate_totals():
    # Net spend with returns: total > 0 so the metric is defined and inside [-1, 1].
    y = [-20.0, 0.0, 5.0, 100.0, -3.0]
    assert m.normalized_gini(y, y) == pytest.approx(1.0)
    assert m.normalized_gini(y, [-v for v in y]) == pytest.approx(-1.0)
    assert np.isnan(m.normalized_gini([-5.0, 2.0], [1, 2]))  # total <= 0
    assert np.isnan(m.normalized_gini([3.0, 3.0, 3.0], [1, 2, 3]))  # nothing to rank
    assert np.isnan(m.top_decile_capture([0.0, 0.0], [1, 2]))


# ---------------------------------------------------------------- properties

# Money in cents: real amounts, not subnormal floats whose sums overflow when divided.
finite = st.integers(-100_000, 100_000).map(lambda c: c / 100)
positive = st.integers(0, 1_000_000).map(lambda c: c / 100)
MONOTONE = [lambda x: 3 * x + 7, lambda x: x**3, lambda x: np.exp(x / 5), np.arctan]


@SETTINGS
@given(st.lists(st.tuples(positive, st.integers(-20, 20)), min_size=10, max_size=60),
       st.sampled_from(range(len(MONOTONE))), st.booleans())
def test_rank_metrics_invariant_under_monotone_transforms(rows, which, binary):
    y = np.array([r[0] for r in rows])
    if binary:
        y = (y > 5000).astype(float)
    p = np.array([r[1] for r in rows], dtype=float)
    q = MONOTONE[which](p)
    for metric in (m.normalized_gini, m.spearman, m.top_decile_capture):
        a, b = metric(y, p), metric(y, q)
        assert (np.isnan(a) and np.isnan(b)) or a == pytest.approx(b, rel=1e-9, abs=1e-12)
    if binary and 0 < y.sum() < y.size:
        assert m.auc(y, p) == pytest.approx(m.auc(y, q))


def _all_metrics(y, p):
    return np.array([m.normalized_gini(y, p), m.spearman(y, p), m.top_decile_capture(y, p),
                     m.top_decile_capture(y, p, 0.25), m.decile_mape(y, p, bins=4),
                     m.mae(y, p), m.rmse(y, p), m.r2(y, p), m.bias(y, p)]
                    + m.decile_table(y, p, bins=4)[["mean_pred", "mean_actual"]]
                    .to_numpy().ravel().tolist())


@SETTINGS
@given(st.lists(st.tuples(finite, st.integers(0, 3)), min_size=4, max_size=40),
       st.randoms(use_true_random=False))
def test_permuting_rows_changes_nothing(rows, rnd):
    # Heavy ties (four prediction values): any reordering of the rows, and so any order of
    # the rows inside each tied block, gives the same metrics.
    y = np.array([r[0] for r in rows])
    p = np.array([float(r[1]) for r in rows])
    perm = list(range(len(rows)))
    rnd.shuffle(perm)
    np.testing.assert_allclose(_all_metrics(y[perm], p[perm]), _all_metrics(y, p),
                               rtol=1e-9, atol=1e-9)


@SETTINGS
@given(st.lists(st.one_of(finite, positive), min_size=10, max_size=60))
def test_decile_mape_is_zero_for_a_perfect_prediction(y):
    result = m.decile_mape(y, y)
    assert np.isnan(result) or result <= 1e-9


@SETTINGS
@given(st.lists(positive, min_size=1, max_size=40), st.floats(0.1, 10))
def test_bias_sign(y, factor):
    y = np.array(y)
    if y.sum() <= 0:
        assert np.isnan(m.bias(y, y * factor))
        return
    b = m.bias(y, y * factor)
    assert b == pytest.approx(factor - 1)
    assert np.sign(m.bias(y, y + 1.0)) == 1 and np.sign(m.bias(y, y * 0.5)) == -1


@SETTINGS
@given(st.lists(st.tuples(finite, finite, positive), min_size=1, max_size=40))
def test_coverage_in_unit_interval(rows):
    y, lo, width = (np.array(c) for c in zip(*rows))
    cov = m.interval_coverage(y, lo, lo + width)
    assert 0.0 <= cov <= 1.0
    assert m.interval_coverage(y, y - width, y + width) == 1.0


@SETTINGS
@given(st.lists(st.tuples(finite, finite), min_size=2, max_size=40))
def test_gini_bounded_even_with_returns(rows):
    y, p = (np.array(c) for c in zip(*rows))
    g = m.normalized_gini(y, p)
    assert np.isnan(g) or -1 - 1e-9 <= g <= 1 + 1e-9


# ---------------------------------------------------------------- input checks


@pytest.mark.parametrize("call, names", [
    (lambda: m.mae([1, 2, 3], [1, 2]), "y_true has 3 rows but y_pred has 2"),
    (lambda: m.normalized_gini([1, 2], [1, float("nan")]), "y_pred: nan at row 1"),
    (lambda: m.spearman([1, 2], pd.Series([1.0, None], dtype="Float64")), "y_pred: nan at row 1"),
    (lambda: m.rmse([float("inf"), 1], [1, 2]), "y_true: inf at row 0"),
    (lambda: m.r2([], []), "y_true: empty"),
    (lambda: m.mae(np.ones((2, 2)), np.ones(4)), "y_true: expected a 1-D array"),
    (lambda: m.mae(["a", "b"], [1, 2]), "y_true: not numeric"),
    (lambda: m.auc([0, 2], [0.1, 0.2]), "y_active: 2.0 at row 1 is not 0 or 1"),
    (lambda: m.brier([0, 1], [0.1, 1.2]), "p_active: 1.2 at row 1 is outside [0, 1]"),
    (lambda: m.calibration_table([0, 1, 1], [0.1, 0.2]), "y_active has 3 rows"),
    (lambda: m.interval_coverage([1, 2], [0, 3], [2, 2]), "ltv_lo: 3.0 above ltv_hi 2.0 at row 1"),
    (lambda: m.top_decile_capture([1, 2], [1, 2], share=0), "share: 0"),
    (lambda: m.decile_table(range(5), range(5)), "5 rows cannot fill 10 buckets"),
])
def test_bad_inputs_raise_ltv_error_naming_the_argument(call, names):
    with pytest.raises(LTVError) as info:
        call()
    assert names in str(info.value)
    assert info.value.fix  # every error says what to do


# ---------------------------------------------------------------- evaluate
# (sliced evaluation and its flags: tests/evaluation/test_slices.py)


def _predictions(n=300, seed=3):
    rng = np.random.default_rng(seed)
    actual = rng.gamma(0.5, 80, n) * (rng.random(n) < 0.5)
    ltv = np.maximum(actual + rng.normal(0, 20, n), 0)
    preds = pd.DataFrame({"customer_id": [f"c{i}" for i in range(n)], "model": "test",
                          "ltv": ltv, "ltv_lo": ltv * 0.5, "ltv_hi": ltv * 1.5 + 5,
                          "p_active": np.clip(ltv / 100, 0.01, 0.99)})
    return preds, actual


def test_evaluate_agrees_with_the_functions():
    preds, actual = _predictions()
    out = m.evaluate(preds, pd.Series(actual))
    y_active = (actual > 0).astype(int)
    assert out["n"] == 300
    assert out["gini"] == m.normalized_gini(actual, preds["ltv"])
    assert out["decile_mape"] == m.decile_mape(actual, preds["ltv"])
    assert out["top_decile_capture_ideal"] == m.top_decile_capture(actual, actual)
    assert out["coverage"] == m.interval_coverage(actual, preds["ltv_lo"], preds["ltv_hi"])
    assert out["auc"] == m.auc(y_active, preds["p_active"])
    assert out["brier"] == m.brier(y_active, preds["p_active"])
    assert out["bias"] == pytest.approx(preds["ltv"].sum() / actual.sum() - 1)
    # An explicit outcome replaces actual > 0; missing optional columns give nan.
    ones = np.r_[np.ones(299), 0]
    assert m.evaluate(preds, actual, active=ones)["auc"] == m.auc(ones, preds["p_active"])
    bare = m.evaluate(preds[["ltv"]].head(5), actual[:5])
    assert np.isnan(bare["coverage"]) and np.isnan(bare["auc"]) and np.isnan(bare["decile_mape"])


def test_evaluate_refuses_a_misaligned_series():
    preds, actual = _predictions()
    shifted = pd.Series(actual, index=preds["customer_id"])
    with pytest.raises(LTVError, match="actual: its index differs"):
        m.evaluate(preds, shifted)
    with pytest.raises(LTVError, match="no 'ltv' column"):
        m.evaluate(preds.drop(columns="ltv"), actual)
    with pytest.raises(LTVError, match="actual has 299 rows"):
        m.evaluate(preds, actual[:-1])

