"""Behaviour before the cutoff: event counts by type in each window, and funnel ratios.

Only the most frequent event types before the cutoff (at most `max_event_types`, ties broken
by name) get columns, so a long tail of rare types cannot blow up the table:
- ev_<type>_{w}d and ev_any_{w}d: events in [cutoff - w days, cutoff);
- conv_cart_view_{w}d, conv_purchase_view_{w}d, conv_purchase_cart_{w}d: ratios of those
  counts where both types are among the columns (NULL when the denominator is 0);
- days_since_last_event: fractional days from the latest event to the cutoff (NULL if none).
No events table, or no event before the cutoff: no columns.
With params.event_types given (fixed elsewhere, see `categories`) those are the types, and
the columns exist even without an event here; the types used are in ctx.chosen["event_types"].
"""

from __future__ import annotations

import datetime as dt

from ltv.features.context import Context, Part
from ltv.features.names import unique_slugs
from ltv.features.params import sql_timestamp
from ltv.features.staging import Staged
from ltv.schema import sql_string

FUNNEL = (("cart", "view"), ("purchase", "view"), ("purchase", "cart"))


def build(ctx: Context, staged: Staged) -> Part | None:
    events = ctx.source("events")
    if events is None:
        return None
    past = f"(SELECT customer_id, event_type, ts FROM {events} WHERE ts < {ctx.cut})"
    fixed = ctx.params.event_types
    types = list(fixed) if fixed is not None else [r[0] for r in ctx.con.execute(f"""
        SELECT event_type FROM {past} GROUP BY event_type
        ORDER BY count(*) DESC, event_type LIMIT {ctx.params.max_event_types}""").fetchall()]
    if not types:
        return None
    ctx.chosen["event_types"] = types
    slugs = dict(zip(types, unique_slugs(types, "ev_", taken={"ev_any"})))
    aggs, cols = [], {}
    for w in ctx.params.windows:
        since = sql_timestamp(ctx.cutoff - dt.timedelta(days=w))
        aggs.append(f"count(*) FILTER (WHERE ts >= {since}) AS ev_any_{w}d")
        for kind, slug in slugs.items():
            aggs.append(f"count(*) FILTER (WHERE ts >= {since} AND event_type = "
                        f"{sql_string(kind)}) AS {slug}_{w}d")
    aggs.append("max(ts) AS last_event_ts")
    table = ctx.table("events", f"SELECT customer_id, {', '.join(aggs)} FROM {past} "
                                "GROUP BY customer_id")
    for w in ctx.params.windows:
        cols[f"ev_any_{w}d"] = f"coalesce({{t}}.ev_any_{w}d, 0)"
        cols.update({f"{s}_{w}d": f"coalesce({{t}}.{s}_{w}d, 0)" for s in slugs.values()})
        for num, den in FUNNEL:
            if num in slugs and den in slugs:
                cols[f"conv_{num}_{den}_{w}d"] = (
                    f"{{t}}.{slugs[num]}_{w}d / nullif({{t}}.{slugs[den]}_{w}d, 0)")
    cols["days_since_last_event"] = f"epoch({ctx.cut} - {{t}}.last_event_ts) / 86400.0"
    return Part(table, cols)
