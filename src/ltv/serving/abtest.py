"""A/B arms by a stable hash of customer_id: the same customer always lands in the same arm.

The hash is salted with the model name, so two models' experiments do not split the same
customers the same way; it is SHA-256, not Python's hash(), so it is stable across processes
and restarts (Python salts str hashes per process).
"""

from __future__ import annotations

import hashlib

CHAMPION = "champion"
CHALLENGER = "challenger"


def bucket(customer_id: str, salt: str) -> float:
    """A uniform number in [0, 1) fixed by (salt, customer_id)."""
    digest = hashlib.sha256(f"{salt}\x00{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0 ** 64


def arm_for(customer_id: str, salt: str, challenger_share: float) -> str:
    """CHALLENGER for a `challenger_share` fraction of customers, CHAMPION for the rest."""
    if challenger_share <= 0.0:
        return CHAMPION
    return CHALLENGER if bucket(customer_id, salt) < challenger_share else CHAMPION
