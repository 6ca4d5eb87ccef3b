"""Exact Shapley values from the value of every coalition (a handful of players only)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Hashable, Sequence


def coalitions(players: Sequence[Hashable]) -> list[frozenset]:
    """Every subset of `players` (2^n of them), smallest first."""
    return [frozenset(c) for r in range(len(players) + 1)
            for c in itertools.combinations(players, r)]


def shapley_values(values: dict[frozenset, float],
                   players: Sequence[Hashable]) -> dict[Hashable, float]:
    """phi_i = sum over S not containing i of |S|! (n - |S| - 1)! / n! (v(S + i) - v(S)).

    `values` maps every coalition (frozenset of players) to its value; the phi sum exactly
    (up to float rounding) to v(all) - v(none)."""
    n = len(players)
    out = {}
    for p in players:
        others = [q for q in players if q != p]
        terms = []
        for r in range(n):
            weight = math.factorial(r) * math.factorial(n - r - 1) / math.factorial(n)
            for subset in itertools.combinations(others, r):
                s = frozenset(subset)
                terms.append(weight * (values[s | {p}] - values[s]))
        out[p] = math.fsum(terms)
    return out
