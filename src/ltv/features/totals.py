"""Plain lifetime totals before the cutoff: money, orders, lines, items, returns, timing.

Columns (money in currency units, times in days):
- spend_total (net, returns included), gross_spend (positive lines), returned_spend (>= 0);
- n_orders, n_lines, n_return_lines, items_total (net quantity; only when the source has a
  quantity column), mean_order_value = gross_spend / n_orders (NULL without orders);
- return_rate_amount = returned_spend / gross_spend, return_rate_lines = n_return_lines /
  n_lines (NULL when the denominator is 0);
- first_purchase_ts, last_purchase_ts (lines with amount > 0; NULL if none) and
  days_since_first, days_since_last: fractional days from them to the cutoff.
Computed in the customer pass over the staged orders (see `passes`).
"""

from __future__ import annotations

from ltv.features.context import Context
from ltv.features.staging import Staged


def aggregates(ctx: Context, staged: Staged) -> list[str]:
    aggs = [
        "min(cd) FILTER (WHERE past) AS first_any_cd",  # T without a purchase (see rfm)
        "sum(net) FILTER (WHERE past) AS spend_total",
        "sum(gross) FILTER (WHERE past) AS gross_spend",
        "count(*) FILTER (WHERE past AND buy) AS n_orders",
        "CAST(sum(n_lines) FILTER (WHERE past) AS BIGINT) AS n_lines",
        "CAST(sum(n_return_lines) FILTER (WHERE past) AS BIGINT) AS n_return_lines",
        "min(first_ts) FILTER (WHERE past) AS first_purchase_ts",
        "max(last_ts) FILTER (WHERE past) AS last_purchase_ts",
    ]
    if staged.has_quantity:
        aggs.append("sum(items) FILTER (WHERE past) AS items_total")
    return aggs


def columns(ctx: Context, staged: Staged) -> dict[str, str]:
    cut = ctx.cut
    cols = {
        "spend_total": "{t}.spend_total",
        "gross_spend": "{t}.gross_spend",
        # clamp: gross - net is the returned amount up to float rounding
        "returned_spend": "greatest({t}.gross_spend - {t}.spend_total, 0.0)",
        "n_orders": "{t}.n_orders",
        "n_lines": "{t}.n_lines",
        "n_return_lines": "{t}.n_return_lines",
        "items_total": "{t}.items_total",
        "mean_order_value": "{t}.gross_spend / nullif({t}.n_orders, 0)",
        "return_rate_amount": "greatest({t}.gross_spend - {t}.spend_total, 0.0) "
                              "/ nullif({t}.gross_spend, 0)",
        "return_rate_lines": "{t}.n_return_lines / nullif({t}.n_lines, 0)",
        "first_purchase_ts": "{t}.first_purchase_ts",
        "last_purchase_ts": "{t}.last_purchase_ts",
        "days_since_first": f"epoch({cut} - {{t}}.first_purchase_ts) / 86400.0",
        "days_since_last": f"epoch({cut} - {{t}}.last_purchase_ts) / 86400.0",
    }
    if not staged.has_quantity:
        del cols["items_total"]
    return cols
