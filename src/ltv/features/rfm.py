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
Computed in the customer pass over the staged orders (see `passes`: purchase days are counted
by their first order, `new_cday`; cd is the calendar day relative to the last day before the
cutoff, so T = -cd of the first purchase day).
"""

from __future__ import annotations

from ltv.features.context import Context
from ltv.features.staging import Staged


def aggregates(ctx: Context, staged: Staged) -> list[str]:
    bought = "past AND buy"
    return [
        # no purchase day at all: 0, not -1
        "CAST(greatest(count(*) FILTER (WHERE past AND new_cday) - 1, 0) AS DOUBLE) "
        "AS frequency",
        f"CAST(max(cd) FILTER (WHERE {bought}) - min(cd) FILTER (WHERE {bought}) AS DOUBLE) "
        "AS recency",
        f'CAST(-min(cd) FILTER (WHERE {bought}) AS DOUBLE) AS "T"',
        # the spend of every purchase day but the first, later divided by frequency
        f"sum(gross) FILTER (WHERE {bought} AND cd <> first_cd) AS repeat_spend",
    ]


def columns(ctx: Context, staged: Staged) -> dict[str, str]:
    return {
        "frequency": "coalesce({t}.frequency, 0.0)",
        "recency": "coalesce({t}.recency, 0.0)",
        # no purchase day: T counts from the first day with any line (see the docstring)
        "T": 'coalesce({t}."T", CAST(-{t}.first_any_cd AS DOUBLE))',
        "monetary_value": "coalesce({t}.repeat_spend / nullif({t}.frequency, 0), 0.0)",
    }
