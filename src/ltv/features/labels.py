"""Labels: what each customer does in [cutoff, cutoff + horizon_days).

- label_spend:         net spend (returns included), currency units;
- label_orders:        orders (the same definition as n_orders, see `staging`);
- label_purchase_days: distinct calendar days (UTC) with a purchase line (amount > 0): the
                       same number as lifetimes' `frequency_holdout` from
                       `calibration_and_holdout_data` on the purchase lines with
                       calibration_period_end = cutoff - 1 microsecond and
                       observation_period_end = cutoff + horizon - 1 microsecond;
- label_active:        1 if label_purchase_days > 0 else 0.
Only customers with a line before the cutoff get a row (the feature table's rows); those with
nothing in the horizon get zeros. Labels are the only columns that read rows at or after the
cutoff, and they read nothing else.
"""

from __future__ import annotations

from ltv.features.context import Context, Part
from ltv.features.staging import Staged


def build(ctx: Context, staged: Staged) -> Part | None:
    if not ctx.params.labels:
        return None
    # staged days after the cutoff are bday < 0; at a midnight cutoff each is one calendar
    # day, otherwise a calendar day can be split over two rows
    purchase_days = ("count(*) FILTER (WHERE gross > 0)" if ctx.midnight else
                     "count(DISTINCT cday) FILTER (WHERE gross > 0)")
    table = ctx.table("labels", f"""
        SELECT customer_id, sum(net) AS label_spend,
               CAST(sum(n_orders) AS BIGINT) AS label_orders,
               {purchase_days} AS label_purchase_days
        FROM {staged.days} WHERE bday < 0 GROUP BY customer_id""")
    return Part(table, {
        "label_spend": "coalesce({t}.label_spend, 0.0)",
        "label_orders": "coalesce({t}.label_orders, 0)",
        "label_purchase_days": "coalesce({t}.label_purchase_days, 0)",
        "label_active": "CAST(coalesce({t}.label_purchase_days, 0) > 0 AS INTEGER)",
    })
