"""Inter-purchase intervals: gaps in days between consecutive purchase days (calendar, UTC).

ipt_mean, ipt_std (sample standard deviation), ipt_min, ipt_max, ipt_last (the latest gap),
ipt_cv = ipt_std / ipt_mean. A customer with one purchase day has no gap (all NULL), with two
has one gap (ipt_std and ipt_cv NULL). ipt_mean = recency / frequency of the BTYD summary.
Computed in the customer pass (see `passes`, which gives each purchase day's first order its
`gap` to the previous purchase day).
"""

from __future__ import annotations

from ltv.features.context import Context
from ltv.features.staging import Staged


def aggregates(ctx: Context, staged: Staged) -> list[str]:
    # aggregates skip NULLs: the first purchase day and repeat orders of a day drop out.
    # No avg(gap): the gaps add up to recency, so their mean is recency / frequency (rfm),
    # exactly, and every aggregate in the customer pass costs ~1 s per 10M customers.
    return [
        "stddev_samp(gap) FILTER (WHERE past) AS ipt_std",
        "CAST(min(gap) FILTER (WHERE past) AS DOUBLE) AS ipt_min",
        "CAST(max(gap) FILTER (WHERE past) AS DOUBLE) AS ipt_max",
        "CAST(arg_max(gap, cd) FILTER (WHERE past AND gap IS NOT NULL) AS DOUBLE) AS ipt_last",
    ]


def columns(ctx: Context, staged: Staged) -> dict[str, str]:
    mean = "({t}.recency / nullif({t}.frequency, 0))"  # NULL without a gap
    cols = {"ipt_mean": mean}
    cols.update({c: f"{{t}}.{c}" for c in ("ipt_std", "ipt_min", "ipt_max", "ipt_last")})
    cols["ipt_cv"] = f"{{t}}.ipt_std / nullif({mean}, 0)"
    return cols
