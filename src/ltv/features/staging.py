"""Set-based staging: raw lines -> (customer, day, order) -> (customer, day).

The raw transactions are scanned once here (and once more for categories). Every other step
reads the much smaller staged tables:

- `days`:  one row per customer and cutoff-aligned day `bday` (0 = [cutoff - 1 day, cutoff),
           1 = the day before, ...; -1 = [cutoff, cutoff + 1 day), -2 ... for label rows, kept
           only when labels are asked for), with money, lines, items, orders and the first and
           last purchase time of that day. For a cutoff that is not at midnight, a
           cutoff-aligned day straddles two calendar days, so rows are split by calendar day
           (`cday`) too; at midnight the two kinds of day coincide and `cday` is derived.
- `pdays`: purchase days (calendar days, UTC, with a line of amount > 0) before the cutoff
           with their positive spend: the input of the BTYD summary and purchase intervals.
- `bdays`: cutoff-aligned days before the cutoff: the input of totals, windows and weekly
           sequences ([cutoff - w days, cutoff) is exactly bday < w, at any time of day).
With a midnight cutoff (the usual case) `pdays` and `bdays` are views on `days`.

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
    days: str
    pdays: str
    bdays: str
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
    -1 for [cutoff, cutoff + 1 day), -2 ... Integer arithmetic: exact at every window edge."""
    cut_us = ctx.cut_us
    return (f"CASE WHEN {ts} < {ctx.cut} THEN ({cut_us} - epoch_us({ts}) - 1) // {DAY_US} "
            f"ELSE -1 - (epoch_us({ts}) - {cut_us}) // {DAY_US} END")


def stage(ctx: Context) -> Staged:
    tx = ctx.source("transactions")
    has_quantity = "quantity" in set(ctx.inputs.sources["transactions"].columns)
    p = ctx.params
    end = f"({ctx.cut} + INTERVAL {int(p.horizon_days)} DAY)" if p.labels else ctx.cut
    lines, has_category = lines_view(ctx)
    # At midnight a cutoff-aligned day is a calendar day: bday alone is the day key.
    cday_key = "" if ctx.midnight else "CAST(ts AS DATE) AS cday, "
    cday_col = "" if ctx.midnight else "cday, "
    items = "coalesce(sum(quantity), 0)" if has_quantity else "CAST(0 AS DOUBLE)"
    # Level 1, orders: grouping by order before day makes "distinct orders" a plain count.
    orders = ctx.table("orders", f"""
        SELECT customer_id, {day_key_sql(ctx)} AS bday, {cday_key}
               order_id, CASE WHEN order_id IS NULL THEN ts END AS order_ts,
               sum(amount) AS net,
               coalesce(sum(amount) FILTER (WHERE amount > 0), 0) AS gross,
               count(*) AS n_lines,
               count(*) FILTER (WHERE amount < 0) AS n_return_lines,
               {items} AS items,
               min(ts) FILTER (WHERE amount > 0) AS first_ts,
               max(ts) FILTER (WHERE amount > 0) AS last_ts
        FROM {tx}
        WHERE ts < {end}
        GROUP BY ALL""")
    days = ctx.table("days", f"""
        SELECT customer_id, bday, {cday_col}
               sum(net) AS net, sum(gross) AS gross,
               CAST(sum(n_lines) AS BIGINT) AS n_lines,
               CAST(sum(n_return_lines) AS BIGINT) AS n_return_lines,
               sum(items) AS items,
               count(*) FILTER (WHERE gross > 0) AS n_orders,
               min(first_ts) AS first_ts, max(last_ts) AS last_ts
        FROM {orders}
        GROUP BY ALL""")
    ctx.drop(orders)
    measures = "net, gross, n_lines, n_return_lines, items, n_orders, first_ts, last_ts"
    if ctx.midnight:
        cday = f"CAST({ctx.last_day_sql} - CAST(bday AS INTEGER) AS DATE)"
        pdays = ctx.view("pdays", f"SELECT customer_id, {cday} AS cday, gross FROM {days} "
                                  "WHERE bday >= 0 AND gross > 0")
        bdays = ctx.view("bdays", f"SELECT customer_id, bday, {cday} AS first_cday, {measures} "
                                  f"FROM {days} WHERE bday >= 0")
    else:
        pdays = ctx.table("pdays", f"""
            SELECT customer_id, cday, sum(gross) AS gross FROM {days}
            WHERE bday >= 0 AND gross > 0 GROUP BY ALL""")
        bdays = ctx.table("bdays", f"""
            SELECT customer_id, bday, min(cday) AS first_cday,
                   sum(net) AS net, sum(gross) AS gross,
                   CAST(sum(n_lines) AS BIGINT) AS n_lines,
                   CAST(sum(n_return_lines) AS BIGINT) AS n_return_lines,
                   sum(items) AS items, CAST(sum(n_orders) AS BIGINT) AS n_orders,
                   min(first_ts) AS first_ts, max(last_ts) AS last_ts
            FROM {days} WHERE bday >= 0 GROUP BY ALL""")
    return Staged(days, pdays, bdays, lines, has_quantity, has_category)
