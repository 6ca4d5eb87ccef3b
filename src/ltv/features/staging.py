"""Staging: the one full scan of the transaction lines, down to orders.

- `orders`: one row per customer, order and day, with the order's net and gross spend,
            lines, return lines, items and the first and last purchase time of its lines.
            The day is the cutoff-aligned day `bday` (0 = [cutoff - 1 day, cutoff), 1 = the
            day before; -1, -2 ... after the cutoff, kept only for labels). For a cutoff
            that is not at midnight a cutoff-aligned day straddles two calendar days, so rows
            are split by calendar day too: `cd` = calendar day (UTC) minus the last calendar
            day before the cutoff (0 = that day, -1 the day before, 1 the day after). At
            midnight the two kinds of day coincide, cd = -bday, and the column is left out.

Everything per customer is then computed from the orders in one pass (see `passes`): at ~2
lines per order they are half the size of the lines, and at ~1 order per customer-day there
is nothing to gain from a further (customer, day) table, which would cost one more GROUP BY
of about the same size. `orders` is a view, not a table: the customer pass runs the GROUP BY
itself and streams its result into the window, so the orders (45M rows for 100M lines) are
never written to a temp table and read back (~8% of the two steps).

Definitions used by every module:
- purchase line: amount > 0; return line: amount < 0 (amount = 0 lines count as lines only);
- net spend: sum of amount (returns included); gross spend: sum of positive amounts;
  returned: gross - net (minus the sum of negative amounts);
- order: a distinct order_id within a day (a distinct ts where order_id is NULL) with at
  least one purchase line, so return-only "orders" are not orders.
"""

from __future__ import annotations

from dataclasses import dataclass

from ltv.features.context import Context
from ltv.features.params import DAY_US


@dataclass(frozen=True)
class Staged:
    orders: str
    lines: str  # view: transactions with the category filled from products
    has_quantity: bool
    has_category: bool  # a category column, or products to fill one from


def lines_view(ctx: Context) -> tuple[str, bool]:
    """Transactions with `category` filled from products (on product_id) where missing."""
    tx = ctx.source("transactions")
    tx_cols = set(ctx.inputs.sources["transactions"].columns)
    products = ctx.source("products")
    fill = products is not None and "product_id" in tx_cols and "category" in set(
        ctx.inputs.sources["products"].columns)
    if not fill:
        return tx, "category" in tx_cols
    # One category per product: the row ingested (or written) last wins.
    prodcat = ctx.table("prodcat", f"""
        SELECT product_id, arg_max(category, {{'a': _row_a, 'b': _row_b}}) AS category
        FROM {products} WHERE category IS NOT NULL GROUP BY product_id""")
    view = ctx.view("lines", f"""
        SELECT t.* REPLACE (coalesce(t.category, p.category) AS category)
        FROM {tx} t LEFT JOIN {prodcat} p ON t.product_id = p.product_id""")
    return view, True


def day_key_sql(ctx: Context, ts: str = "ts") -> str:
    """Whole days back from the cutoff: 0 for [cutoff - 1 day, cutoff), 1 for the day before;
    -1 for [cutoff, cutoff + 1 day), -2 ... Integer arithmetic: exact at every window edge.
    INTEGER, not BIGINT: the key is narrower in every GROUP BY and sort that carries it."""
    cut_us = ctx.cut_us
    return (f"CAST(CASE WHEN {ts} < {ctx.cut} THEN ({cut_us} - epoch_us({ts}) - 1) // {DAY_US} "
            f"ELSE -1 - (epoch_us({ts}) - {cut_us}) // {DAY_US} END AS INTEGER)")


def stage(ctx: Context) -> Staged:
    tx = ctx.source("transactions")
    has_quantity = "quantity" in set(ctx.inputs.sources["transactions"].columns)
    p = ctx.params
    end = f"({ctx.cut} + INTERVAL {int(p.horizon_days)} DAY)" if p.labels else ctx.cut
    lines, has_category = lines_view(ctx)
    cd = "" if ctx.midnight else f"CAST(CAST(ts AS DATE) - {ctx.last_day_sql} AS INTEGER) AS cd, "
    items = "coalesce(sum(quantity), 0)" if has_quantity else "CAST(0 AS DOUBLE)"
    # Grouping by order, then counting rows, makes "distinct orders" a plain count later on.
    # The order key (order_id, or ts without one) is grouped on but not kept.
    orders = ctx.view("orders", f"""
        SELECT customer_id, bday, {'' if ctx.midnight else 'cd, '}
               sum(amount) AS net,
               coalesce(sum(amount) FILTER (WHERE amount > 0), 0) AS gross,
               count(*) AS n_lines,
               count(*) FILTER (WHERE amount < 0) AS n_return_lines,
               {items} AS items,
               min(ts) FILTER (WHERE amount > 0) AS first_ts,
               max(ts) FILTER (WHERE amount > 0) AS last_ts
        FROM (SELECT *, {day_key_sql(ctx)} AS bday, {cd}
                     CASE WHEN order_id IS NULL THEN ts END AS order_ts
              FROM {tx} WHERE ts < {end})
        GROUP BY customer_id, bday, {'' if ctx.midnight else 'cd, '}order_id, order_ts""")
    return Staged(orders, lines, has_quantity, has_category)
