"""Inter-purchase intervals: gaps in days between consecutive purchase days (calendar, UTC).

ipt_mean, ipt_std (sample standard deviation), ipt_min, ipt_max, ipt_last (the latest gap),
ipt_cv = ipt_std / ipt_mean. A customer with one purchase day has no gap (all NULL), with two
has one gap (ipt_std and ipt_cv NULL). ipt_mean = recency / frequency of the BTYD summary.
Computed in the purchase-day pass (see `passes`).
"""

from __future__ import annotations

from ltv.features.context import Context
from ltv.features.staging import Staged


def aggregates(ctx: Context, staged: Staged) -> list[str]:
    # aggregates skip NULLs, so the first purchase day (gap NULL) drops out by itself
    return [
        "avg(gap) AS ipt_mean",
        "stddev_samp(gap) AS ipt_std",
        "CAST(min(gap) AS DOUBLE) AS ipt_min",
        "CAST(max(gap) AS DOUBLE) AS ipt_max",
        "CAST(arg_max(gap, cday) FILTER (WHERE gap IS NOT NULL) AS DOUBLE) AS ipt_last",
    ]


def columns(ctx: Context, staged: Staged) -> dict[str, str]:
    cols = {c: f"{{t}}.{c}" for c in ("ipt_mean", "ipt_std", "ipt_min", "ipt_max", "ipt_last")}
    cols["ipt_cv"] = "{t}.ipt_std / nullif({t}.ipt_mean, 0)"
    return cols
