"""The customer pass: every order-based feature family in one GROUP BY customer_id.

At 10M customers each pass over the staged orders costs seconds (a hash table of 10M
customers, rebuilt per pass) and each extra per-customer table costs a join at the end, so the
modules do not scan on their own: they contribute aggregate expressions over the rows below
and the pass computes all of them at once, with FILTER clauses instead of separate queries.
Each aggregate still costs about 1 CPU second per 45M order rows (10M customers), FILTERed
or not, so a module adds only the aggregates it cannot derive from others.

The rows are the staged orders (see `staging`) with these columns added:
- past:     bday >= 0, the row is before the cutoff (future rows exist only for labels);
- buy:      gross > 0, the order has a purchase line (it is an order, see `staging`);
- cd:       calendar day relative to the last day before the cutoff (staged; -bday at
            midnight);
- new_bday: buy, and the first purchase order of its cutoff-aligned day, so that
            count(*) FILTER (WHERE new_bday) counts purchase days without a DISTINCT;
- new_cday: the same for calendar days (= new_bday at a midnight cutoff);
- gap:      on new_cday rows, calendar days since the previous purchase day (NULL on the
            first one);
- first_cd: cd of the customer's first purchase day.
Before/after the cutoff are separate window partitions, so labels count the purchase days
after the cutoff on their own and no past feature looks at a future row.

One window (one sort of the orders by customer and time) gives the last four: cheaper than
a (customer, day) GROUP BY that would otherwise be needed to count days, and it also yields
the gaps that inter-purchase intervals need.

A module taking part has `aggregates(ctx, staged) -> list[str]` (SQL aggregates AS names,
names unique across modules) and `columns(ctx, staged) -> dict` (output column -> SQL over
the pass table `{t}`).
"""

from __future__ import annotations

from ltv.features.context import Context
from ltv.features.staging import Staged


def _rows(ctx: Context, staged: Staged) -> str:
    """The staged orders with the columns described in the module docstring."""
    buy_b = "CASE WHEN gross > 0 THEN bday END"
    spec = "PARTITION BY customer_id, bday >= 0 ORDER BY bday DESC"
    if ctx.midnight:
        # a calendar day is a cutoff-aligned day (cd = -bday): one lag serves both kinds
        window = f"""
            SELECT *, -bday AS cd, -prev_bday AS prev_cd
            FROM (SELECT *, lag({buy_b} IGNORE NULLS) OVER w AS prev_bday,
                         -first_value({buy_b} IGNORE NULLS) OVER w AS first_cd
                  FROM {staged.orders} WINDOW w AS ({spec}))"""
    else:
        # rows of one bday and rows of one cd are both contiguous in time order
        buy_c = "CASE WHEN gross > 0 THEN cd END"
        window = f"""
            SELECT *,
                   lag({buy_c} IGNORE NULLS) OVER w AS prev_cd,
                   lag({buy_b} IGNORE NULLS) OVER w AS prev_bday,
                   first_value({buy_c} IGNORE NULLS) OVER w AS first_cd
            FROM {staged.orders} WINDOW w AS ({spec}, cd)"""
    return f"""
        SELECT * EXCLUDE (prev_cd, prev_bday),
               bday >= 0 AS past, gross > 0 AS buy,
               gross > 0 AND prev_bday IS DISTINCT FROM bday AS new_bday,
               gross > 0 AND prev_cd IS DISTINCT FROM cd AS new_cday,
               CASE WHEN gross > 0 AND prev_cd <> cd THEN cd - prev_cd END AS gap
        FROM ({window})"""


def customer_pass(ctx: Context, staged: Staged, modules) -> str:
    """One row per customer with a line before the cutoff, every module's aggregates."""
    aggs = [a for m in modules for a in m.aggregates(ctx, staged)]
    # customers whose only rows are after the cutoff (labels) are no rows of the table;
    # first_any_cd (totals) is NULL exactly for them, and HAVING reuses that aggregate
    return ctx.table("customers", f"""
        SELECT customer_id, {', '.join(aggs)}
        FROM ({_rows(ctx, staged)})
        GROUP BY customer_id
        HAVING min(cd) FILTER (WHERE past) IS NOT NULL""")
