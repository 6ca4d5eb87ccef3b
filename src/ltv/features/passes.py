"""Shared customer-level passes: several modules' aggregates computed in one GROUP BY.

At 10M customers every pass over the staged days costs seconds, so modules that read the
same rows contribute aggregate expressions to one pass instead of each scanning on its own:

- the day pass reads `bdays` (cutoff-aligned days) for totals and windows; it has a row for
  every customer of the feature table and drives the final join;
- the purchase-day pass reads `pdays` with `gap` = days since the previous purchase day
  (NULL on the first one) for the BTYD summary and purchase intervals.

A module taking part in a pass has `aggregates(ctx, staged) -> list[str]` (SQL aggregates
AS names) and `columns(ctx, staged) -> dict` (output column -> SQL over the pass table `{t}`
and the day-pass table `{base}`).
"""

from __future__ import annotations

from ltv.features.context import Context
from ltv.features.staging import Staged


def day_pass(ctx: Context, staged: Staged, modules) -> str:
    aggs = [a for m in modules for a in m.aggregates(ctx, staged)]
    return ctx.table("day_pass", f"SELECT customer_id, {', '.join(aggs)} "
                                 f"FROM {staged.bdays} GROUP BY customer_id")


def purchase_day_pass(ctx: Context, staged: Staged, modules) -> str:
    aggs = [a for m in modules for a in m.aggregates(ctx, staged)]
    return ctx.table("purchase_day_pass", f"""
        SELECT customer_id, {', '.join(aggs)}
        FROM (SELECT customer_id, cday, gross,
                     cday - lag(cday) OVER (PARTITION BY customer_id ORDER BY cday) AS gap
              FROM {staged.pdays})
        GROUP BY customer_id""")
