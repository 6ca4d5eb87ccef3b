"""Helpers for ragged arrays (groups of varying size laid end to end), without Python loops."""

from __future__ import annotations

import numpy as np


def starts(counts: np.ndarray) -> np.ndarray:
    """Offset of each group's first element: [0, c0, c0 + c1, ...] (length len(counts))."""
    out = np.zeros(len(counts), dtype=np.int64)
    np.cumsum(counts[:-1], out=out[1:])
    return out


def positions(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For groups of `counts` elements: each element's group and its position in the group.

    positions([2, 0, 3]) -> ([0, 0, 2, 2, 2], [0, 1, 0, 1, 2])
    """
    group = np.repeat(np.arange(len(counts)), counts)
    within = np.arange(len(group)) - np.repeat(starts(counts), counts)
    return group, within
