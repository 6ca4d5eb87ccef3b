"""Customer attributes as they were known at the cutoff.

Per customer, the `customers` row with the latest valid_from < cutoff is taken; rows with a
NULL valid_from (always known, e.g. static attributes) are the fallback; among equals the row
ingested (or written) last wins. Rows with valid_from >= cutoff are never read. Every attribute
column (all but customer_id, valid_from and signup_ts) becomes `attr_<name>`, with its type
kept; `tenure_days` = fractional days from signup_ts to the cutoff, NULL when the signup is
unknown or not before the cutoff (a signup at or after the cutoff is future information).
No customers table, or no row known before the cutoff: no columns.
"""

from __future__ import annotations

from ltv.features.context import Context, Part
from ltv.features.names import unique_slugs
from ltv.features.staging import Staged
from ltv.schema import sql_ident

NOT_ATTRIBUTES = ("customer_id", "valid_from", "signup_ts")


def build(ctx: Context, staged: Staged) -> Part | None:
    customers = ctx.source("customers")
    if customers is None:
        return None
    known = f"(SELECT * FROM {customers} WHERE valid_from < {ctx.cut} OR valid_from IS NULL)"
    if not ctx.scalar(f"SELECT count(*) FROM {known}"):
        return None
    present = ctx.inputs.sources["customers"].columns
    attrs = [c for c in present if c not in NOT_ATTRIBUTES]
    names = unique_slugs(attrs, "attr_", taken={"tenure_days"})
    select = [f"{sql_ident(c)} AS {n}" for c, n in zip(attrs, names)]
    has_signup = "signup_ts" in present
    if has_signup:
        select.append(f"CASE WHEN signup_ts < {ctx.cut} THEN signup_ts END AS signup_ts")
    table = ctx.table("attributes", f"""
        SELECT customer_id{''.join(', ' + s for s in select)} FROM {known}
        QUALIFY row_number() OVER (PARTITION BY customer_id
                                   ORDER BY valid_from DESC NULLS LAST, _row_a DESC NULLS LAST,
                                            _row_b DESC NULLS LAST) = 1""")
    cols = {n: f"{{t}}.{n}" for n in names}
    if has_signup:
        cols["tenure_days"] = f"epoch({ctx.cut} - {{t}}.signup_ts) / 86400.0"
    return Part(table, cols) if cols else None
