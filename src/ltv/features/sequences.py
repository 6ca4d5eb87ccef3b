"""Weekly activity of the last N weeks, aligned to the cutoff, as fixed-length lists.

Week k (0-based) covers [cutoff - (N - k) * 7 days, cutoff - (N - k - 1) * 7 days): the last
element is the most recent week. `seq_spend` holds net spend, `seq_orders` order counts, both
DOUBLE lists of length N with zeros for weeks without activity (including weeks before the
customer's first purchase).

Only the active weeks are stored (per customer: `js`, whole weeks back from the cutoff, 0 =
the most recent, with the spend `ss` and orders `os` of those weeks); the dense lists are produced in the final select, while the table is written, so
neither a customers x weeks grid nor N doubles per customer are ever held in a temp table.
"""

from __future__ import annotations

from ltv.features.context import Context, Part
from ltv.features.staging import Staged


def build(ctx: Context, staged: Staged) -> Part | None:
    n = ctx.params.sequence_weeks
    if n <= 0:
        return None
    table = ctx.table("sequences", f"""
        SELECT customer_id, list_transform(weeks, lambda x: x.j) AS js,
               list_transform(weeks, lambda x: x.s) AS ss,
               list_transform(weeks, lambda x: x.o) AS os
        FROM (SELECT customer_id, list({{'j': j, 's': spend, 'o': orders}}) AS weeks
              FROM (SELECT customer_id, bday // 7 AS j, sum(net) AS spend,
                           CAST(sum(n_orders) AS DOUBLE) AS orders
                    FROM {staged.bdays} WHERE bday < {7 * n} GROUP BY ALL)
              GROUP BY customer_id)""")
    return Part(table, {"seq_spend": dense(n, "ss"), "seq_orders": dense(n, "os")})


def dense(n: int, values: str) -> str:
    """SQL for the length-n list from the sparse `values` list of table alias {t}.

    Position k holds week j = n - 1 - k: list_position finds it among the active weeks `js`
    (NULL when absent, which selects the leading 0.0 of the value list). A customer without
    activity in the last n weeks has no row in the table: all zeros.
    """
    return (f"list_select(list_prepend(CAST(0 AS DOUBLE), coalesce({{t}}.{values}, [])), "
            f"list_transform(range({n}), lambda k: coalesce(list_position({{t}}.js, {n - 1} - k), "
            f"0) + 1))")
