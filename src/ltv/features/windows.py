"""Activity in trailing windows [cutoff - w days, cutoff) and the trends between them.

For each window w (days): spend_{w}d (net), orders_{w}d, items_{w}d (with a quantity column),
active_days_{w}d (cutoff-aligned days with a purchase line; calendar days for a midnight
cutoff). Computed in the customer pass (see `passes`) with FILTER clauses: one pass for all
windows, not one scan per window.

Trends compare the daily rate in each window with the rate in the next longer one, e.g.
spend_trend_30_90 = (spend_30d / 30) / (spend_90d / 90): above 1 means the customer is
speeding up. NULL when the longer window has no spend (orders) at all.
"""

from __future__ import annotations

from ltv.features.context import Context
from ltv.features.staging import Staged


def _measures(staged: Staged) -> list[tuple[str, str]]:
    """(column stem, SQL type of the column)."""
    out = [("spend", "DOUBLE"), ("orders", "BIGINT")]
    if staged.has_quantity:
        out.append(("items", "DOUBLE"))
    return out


def aggregates(ctx: Context, staged: Staged) -> list[str]:
    aggs = []
    for w in ctx.params.windows:
        inside = f"past AND bday < {w}"  # [cutoff - w days, cutoff)
        aggs += [f"sum(net) FILTER (WHERE {inside}) AS spend_{w}d",
                 f"count(*) FILTER (WHERE {inside} AND buy) AS orders_{w}d"]
        if staged.has_quantity:
            aggs.append(f"sum(items) FILTER (WHERE {inside}) AS items_{w}d")
        aggs.append(f"count(*) FILTER (WHERE {inside} AND new_bday) AS active_days_{w}d")
    return aggs


def columns(ctx: Context, staged: Staged) -> dict[str, str]:
    windows = ctx.params.windows
    cols = {}
    for w in windows:
        for stem, sql_type in _measures(staged):
            cols[f"{stem}_{w}d"] = f"CAST(coalesce({{t}}.{stem}_{w}d, 0) AS {sql_type})"
        cols[f"active_days_{w}d"] = f"{{t}}.active_days_{w}d"
    for short, long in zip(windows, windows[1:]):
        for stem in ("spend", "orders"):
            cols[f"{stem}_trend_{short}_{long}"] = (
                f"(coalesce({{t}}.{stem}_{short}d, 0) / {short}) "
                f"/ nullif(coalesce({{t}}.{stem}_{long}d, 0) / {long}, 0)")
    return cols
