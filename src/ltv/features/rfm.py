"""The BTYD summary (frequency, recency, T, monetary_value), as the `lifetimes` package has it.

Identical to `lifetimes.utils.summary_data_from_transaction_data(purchases, freq='D',
monetary_value_col='amount', observation_period_end=cutoff - 1 microsecond)` where
`purchases` are the transaction lines with amount > 0 and ts < cutoff. For the usual midnight
cutoff that observation end is simply the day before the cutoff. In words, with calendar days
in UTC and a purchase day being a day with at least one line of amount > 0:

- frequency      = number of purchase days - 1 (repeat purchase days);
- recency        = last purchase day - first purchase day, in days;
- T              = last day before the cutoff - first purchase day, in days;
- monetary_value = mean, over the repeat purchase days (the first one excluded), of the day's
                   summed positive spend; 0 when frequency = 0.

Returns are not purchases here (they would otherwise count as purchase days or lower the
mean); they are separate features (see `totals`). A customer whose lines before the cutoff
are all returns or zero amounts has frequency = recency = monetary_value = 0 and T counted
from the first day with any line. All four are DOUBLE, like lifetimes' output.
The holdout counterpart, `frequency_holdout`, is `label_purchase_days` (see `labels`).
Computed in the purchase-day pass (see `passes`).
"""

from __future__ import annotations

from ltv.features.context import Context
from ltv.features.staging import Staged


def aggregates(ctx: Context, staged: Staged) -> list[str]:
    return [
        "CAST(count(*) - 1 AS DOUBLE) AS frequency",
        "CAST(max(cday) - min(cday) AS DOUBLE) AS recency",
        f'CAST({ctx.last_day_sql} - min(cday) AS DOUBLE) AS "T"',
        "coalesce(avg(gross) FILTER (WHERE gap IS NOT NULL), 0) AS monetary_value",
    ]


def columns(ctx: Context, staged: Staged) -> dict[str, str]:
    return {
        "frequency": "coalesce({t}.frequency, 0.0)",
        "recency": "coalesce({t}.recency, 0.0)",
        # no purchase day: T counts from the first day with any line (see the docstring)
        "T": f'coalesce({{t}}."T", CAST({ctx.last_day_sql} - {{base}}.first_cday AS DOUBLE))',
        "monetary_value": "coalesce({t}.monetary_value, 0.0)",
    }
