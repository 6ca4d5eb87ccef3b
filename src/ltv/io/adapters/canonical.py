"""Columns already named as in the contract, or mapped onto it with `mapping` (--map)."""

from __future__ import annotations

from ltv.io.adapters import Adapter
from ltv.io.mapping import canonical_plans

ADAPTER = Adapter(
    name="canonical",
    doc="columns named as in ltv.schema (or mapped with --map) for the table given by --table",
    plans=lambda ctx, part: canonical_plans(ctx),
)
