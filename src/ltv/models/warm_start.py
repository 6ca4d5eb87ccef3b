"""Shared checks for warm starts: a family continues training from a fitted model of itself
(`GBDTModel.fit(data, init_model=...)`, `DeepModel.fit(data, init_model=...)`) only when the
new training data gives the same inputs the old model reads.
"""

from __future__ import annotations

from collections.abc import Iterable


def column_change(old: Iterable[str], new: Iterable[str], shown: int = 5) -> str | None:
    """A sentence naming the feature columns that appeared or disappeared, or None when the
    two sets are equal. The top categories and event types are chosen per cutoff, so a later
    cutoff can legitimately change them; the old model then does not read the new columns."""
    old, new = set(old), set(new)
    added, removed = sorted(new - old), sorted(old - new)
    if not added and not removed:
        return None
    parts = []
    for label, cols in (("new", added), ("gone", removed)):
        if cols:
            more = f" (+{len(cols) - shown} more)" if len(cols) > shown else ""
            parts.append(f"{label}: {', '.join(cols[:shown])}{more}")
    return f"the feature columns changed ({'; '.join(parts)})"


def family_mismatch(champion: object, family: str) -> str | None:
    """Why `champion` is not a fitted model of `family`, or None."""
    found = getattr(champion, "family", type(champion).__name__)
    if found != family:
        return f"the champion is a {found} model, not {family}"
    if not hasattr(champion, "feature_names_"):
        return "the champion is not fitted"
    return None
