"""Multi-label metrics against brute force: Mann-Whitney pair counts and every tie order."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from ltv.errors import LTVError
from ltv.profiles.ranking_metrics import (interest_metrics, macro_auc, micro_auc,
                                          per_label_auc, precision_at_k, recall_at_k)


def brute_auc(y: np.ndarray, p: np.ndarray) -> float:
    """Share of (positive, negative) pairs ordered right, a tie counting 1/2."""
    pos, neg = p[y == 1], p[y == 0]
    if not len(pos) or not len(neg):
        return float("nan")
    wins = sum((a > b) + 0.5 * (a == b) for a in pos for b in neg)
    return wins / (len(pos) * len(neg))


def brute_at_k(y: np.ndarray, p: np.ndarray, k: int) -> tuple[float, float]:
    """(precision@k, recall@k) averaged over every tie-breaking order of the labels."""
    precisions, recalls = [], []
    for row_y, row_p in zip(y, p):
        if row_y.sum() == 0:
            continue
        hits = []
        for perm in itertools.permutations(range(len(row_p))):
            order = sorted(range(len(row_p)), key=lambda j: (-row_p[j], perm.index(j)))
            hits.append(row_y[order[:k]].sum())
        precisions.append(np.mean(hits) / k)
        recalls.append(np.mean(hits) / row_y.sum())
    return float(np.mean(precisions)), float(np.mean(recalls))


@pytest.mark.parametrize("seed", range(6))
def test_metrics_match_brute_force_with_ties(seed):
    rng = np.random.default_rng(seed)
    n, n_labels = 7, 5
    y = (rng.random((n, n_labels)) < 0.4).astype(float)
    y[0, :] = 0  # a customer with no positive: left out of precision/recall
    y[:, 4] = 1  # a one-class label: nan AUC, skipped by macro
    p = np.round(rng.random((n, n_labels)) * 3) / 3  # few distinct values: many ties
    per = per_label_auc(y, p)
    for j in range(n_labels):
        expected = brute_auc(y[:, j], p[:, j])
        assert (np.isnan(per[j]) and np.isnan(expected)) or per[j] == pytest.approx(expected)
    assert np.isnan(per[4])
    assert macro_auc(y, p) == pytest.approx(np.nanmean([brute_auc(y[:, j], p[:, j])
                                                        for j in range(4)]))
    assert micro_auc(y, p) == pytest.approx(brute_auc(y.ravel(), p.ravel()))
    for k in (1, 2, 3, 5):
        prec, rec = brute_at_k(y, p, k)
        assert precision_at_k(y, p, k) == pytest.approx(prec)
        assert recall_at_k(y, p, k) == pytest.approx(rec)


def test_hand_computed_example():
    y = np.array([[1, 0, 0], [0, 1, 1], [0, 0, 0]])
    p = np.array([[0.9, 0.5, 0.1], [0.8, 0.7, 0.6], [0.2, 0.3, 0.4]])
    # customer 1 ranks label 0 first (a miss), then labels 1 and 2 (hits)
    assert precision_at_k(y, p, 1) == pytest.approx((1 + 0) / 2)
    assert precision_at_k(y, p, 2) == pytest.approx((0.5 + 0.5) / 2)
    assert recall_at_k(y, p, 2) == pytest.approx((1 + 0.5) / 2)
    assert recall_at_k(y, p, 3) == pytest.approx(1.0)
    # all scores tied: the expectation is the positive share (1/3 and 2/3)
    flat = np.zeros((3, 3))
    assert precision_at_k(y, flat, 1) == pytest.approx((1 / 3 + 2 / 3) / 2)
    m = interest_metrics(y, p, ["a", "b", "c"], ks=(1, 3, 5))
    assert m["labels_skipped"] == 0 and m["customers_with_positive"] == 2
    assert "precision@5" not in m  # more than the 3 labels
    assert m["per_label_auc"]["a"] == pytest.approx(brute_auc(y[:, 0], p[:, 0]))


def test_bad_inputs_are_named():
    y = np.array([[1, 0], [0, 1]])
    with pytest.raises(LTVError, match="shape"):
        precision_at_k(y, np.zeros((2, 3)), 1)
    with pytest.raises(LTVError, match="other than 0 and 1"):
        macro_auc(np.array([[2, 0], [0, 1]]), np.zeros((2, 2)))
    with pytest.raises(LTVError, match="k=3"):
        precision_at_k(y, np.zeros((2, 2)), 3)
    with pytest.raises(LTVError, match=r"P\[1, 0\]"):
        micro_auc(y, np.array([[0.1, 0.2], [np.nan, 0.3]]))
    assert np.isnan(precision_at_k(np.zeros((2, 2)), np.zeros((2, 2)), 1))
