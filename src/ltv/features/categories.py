"""What a customer buys: category shares and category breadth.

Categories come from the transaction line, or from `products` (on product_id) where the line
has none. Only purchase lines (amount > 0) before the cutoff count.

- The top-K categories by gross spend before the cutoff, over all customers (ties broken by
  name), give `cat_share_<slug>` = the customer's positive spend in that category / their
  total positive spend; `cat_share_other` is the rest (other and uncategorised lines). A
  customer without positive spend has all shares 0. top_k_categories=0: no share columns.
- n_categories: distinct categories bought before the cutoff; n_categories_{w}d in each window.
No category on any line before the cutoff (and no products to fill one): no columns.

With params.top_categories given (a list fixed elsewhere, e.g. by the online store, whose
per-customer recomputes must keep the columns of the table it materialized) those are the
top categories and the columns exist even where these rows have no category. The list
chosen is recorded in ctx.chosen["top_categories"] (None: no category columns).
"""

from __future__ import annotations

from ltv.features.context import Context, Part
from ltv.features.names import unique_slugs
from ltv.features.staging import Staged, day_key_sql
from ltv.schema import sql_string


def build(ctx: Context, staged: Staged) -> Part | None:
    if not staged.has_category:
        return None
    percat = ctx.table("percat", f"""
        SELECT customer_id, category, sum(amount) AS gross, min(bday) AS recent_bday
        FROM (SELECT customer_id, category, amount, {day_key_sql(ctx)} AS bday
              FROM {staged.lines} WHERE ts < {ctx.cut} AND amount > 0)
        GROUP BY ALL""")
    fixed = ctx.params.top_categories
    if fixed is None and not ctx.scalar(
            f"SELECT count(*) FROM {percat} WHERE category IS NOT NULL"):
        ctx.drop(percat)
        return None
    top = list(fixed) if fixed is not None else [r[0] for r in ctx.con.execute(f"""
        SELECT category FROM {percat} WHERE category IS NOT NULL GROUP BY category
        ORDER BY sum(gross) DESC, category LIMIT {ctx.params.top_k_categories}""").fetchall()]
    ctx.chosen["top_categories"] = top
    shares = unique_slugs(top, "cat_share_", taken={"cat_share_other"})
    aggs = ["count(category) AS n_categories"]
    aggs += [f"count(category) FILTER (WHERE recent_bday < {w}) AS n_categories_{w}d"
             for w in ctx.params.windows]
    aggs += [f"coalesce(sum(gross) FILTER (WHERE category = {sql_string(c)}), 0) "
             f"/ sum(gross) AS {n}" for c, n in zip(top, shares)]
    if top:  # top_k_categories=0 turns shares off
        in_top = ", ".join(sql_string(c) for c in top)
        aggs.append("coalesce(sum(gross) FILTER (WHERE category IS NULL OR category NOT IN "
                    f"({in_top})), 0) / sum(gross) AS cat_share_other")
        shares.append("cat_share_other")
    table = ctx.table("categories", f"SELECT customer_id, {', '.join(aggs)} FROM {percat} "
                                    "GROUP BY customer_id")
    ctx.drop(percat)
    counts = ["n_categories"] + [f"n_categories_{w}d" for w in ctx.params.windows]
    cols = {c: f"coalesce({{t}}.{c}, 0)" for c in counts}
    cols.update({c: f"coalesce({{t}}.{c}, 0.0)" for c in shares})
    return Part(table, cols)
