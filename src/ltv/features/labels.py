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
cutoff (the staged orders hold them only when labels are asked for), and they read nothing
else. Computed in the customer pass (see `passes`), from its rows after the cutoff, which
form their own window partition: a calendar day split by a non-midnight cutoff counts as a
purchase day on both sides.
"""

from __future__ import annotations

from ltv.features.context import Context
from ltv.features.staging import Staged


def aggregates(ctx: Context, staged: Staged) -> list[str]:
    if not ctx.params.labels:
        return []
    return ["sum(net) FILTER (WHERE NOT past) AS label_spend",
            "count(*) FILTER (WHERE NOT past AND buy) AS label_orders",
            "count(*) FILTER (WHERE NOT past AND new_cday) AS label_purchase_days"]


def columns(ctx: Context, staged: Staged) -> dict[str, str]:
    if not ctx.params.labels:
        return {}
    return {
        "label_spend": "coalesce({t}.label_spend, 0.0)",
        "label_orders": "{t}.label_orders",
        "label_purchase_days": "{t}.label_purchase_days",
        "label_active": "CAST({t}.label_purchase_days > 0 AS INTEGER)",
    }
