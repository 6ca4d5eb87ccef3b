"""Choosing blend members and weights on validation windows, by the metrics users report.

The blend of members' predictions P (rows x members) is c * (P @ w):
- w lies on the simplex (non-negative, sums to 1), searched on a grid of step `GRID`: a
  convex mix of calibrated members, chosen for rank quality, where a least-squares fit
  would chase the few largest spenders;
- c is 1 (trust the members' own calibration) or the pooled balance sum(y) / sum(P @ w)
  over the validation windows (correct a level the members all miss one horizon ahead,
  e.g. a season they extrapolate badly), whichever scores better.
The score is `selection_score` averaged over the validation origins. Forward selection adds
a member only when the best weights with it beat the best without it by `min_gain`, so a
family is kept only when it helps on the earlier windows.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from ltv.evaluation import metrics

GRID = 10  # weight steps of 1/GRID


def selection_score(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """gini + spearman + top-10% capture - decile MAPE: the four numbers the LTV literature
    reports, on comparable 0..1 scales. Higher is better."""
    return _rank_score(y_true, y_pred) - _mape(y_true, y_pred)


def _rank_score(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """The scale-free part of the score (unchanged when predictions are multiplied by c)."""
    return (metrics.normalized_gini(y_true, y_pred) + metrics.spearman(y_true, y_pred)
            + metrics.top_decile_capture(y_true, y_pred))


def _mape(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    mape = metrics.decile_mape(y_true, y_pred)
    return 0.0 if np.isnan(mape) else mape


@dataclass(frozen=True)
class Window:
    """One validation origin: members' predictions (rows x members) and the labels."""

    predictions: np.ndarray
    y: np.ndarray


@dataclass(frozen=True)
class Blend:
    members: list[str]
    weights: np.ndarray  # on the simplex, one per member
    scale: float  # c
    score: float  # mean selection_score over the windows


def simplex_grid(k: int, steps: int = GRID) -> np.ndarray:
    """All weight vectors of k non-negative multiples of 1/steps summing to 1."""
    if k == 1:
        return np.ones((1, 1))
    rows = [np.diff([0, *cut, steps]) for cut in
            itertools.combinations_with_replacement(range(steps + 1), k - 1)]
    return np.array(rows, dtype=float) / steps


def best_weights(windows: list[Window], columns: list[int]) -> tuple[np.ndarray, float, float]:
    """(weights, scale, score) maximizing the mean score over `windows` for these members."""
    best = (np.ones(1), 1.0, -np.inf)
    for w in simplex_grid(len(columns)):
        blends = [win.predictions[:, columns] @ w for win in windows]
        total = sum(float(b.sum()) for b in blends)
        pooled = sum(float(win.y.sum()) for win in windows) / total if total > 0 else 1.0
        ranks = float(np.mean([_rank_score(win.y, b) for win, b in zip(windows, blends)]))
        for scale in dict.fromkeys((1.0, pooled)):
            score = ranks - float(np.mean([_mape(win.y, scale * b)
                                           for win, b in zip(windows, blends)]))
            if score > best[2]:
                best = (w, scale, score)
    return best


def forward_select(windows: list[Window], names: list[str], min_gain: float,
                   max_members: int = 3) -> Blend:
    """Start from the best single member; add the member that helps most while it helps,
    up to `max_members` (the weight grid grows as steps^(members - 1))."""
    singles = {i: best_weights(windows, [i]) for i in range(len(names))}
    first = max(singles, key=lambda i: singles[i][2])
    chosen, (weights, scale, score) = [first], singles[first]
    while len(chosen) < min(len(names), max_members):
        trials = {i: best_weights(windows, chosen + [i]) for i in range(len(names))
                  if i not in chosen}
        add = max(trials, key=lambda i: trials[i][2])
        if trials[add][2] <= score + min_gain or trials[add][0][-1] == 0:
            break
        chosen.append(add)
        weights, scale, score = trials[add]
    keep = weights > 0
    return Blend(members=[names[i] for i, k in zip(chosen, keep) if k],
                 weights=weights[keep], scale=scale, score=score)
