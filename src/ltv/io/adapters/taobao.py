"""Taobao UserBehavior (Alibaba, Tianchi): a headerless CSV of browsing and purchase events.

Columns, in order: user_id, item_id, category_id, behavior (pv, cart, fav, buy), timestamp
(Unix seconds). Rows become `events` with event_type view, cart, fav or purchase. The log has
no prices, so no transactions are made from it.
"""

from __future__ import annotations

import gzip

from ltv.errors import SchemaError
from ltv.io.adapters import Adapter
from ltv.io.casting import Context, Expr, text, timestamp
from ltv.io.mapping import find_column
from ltv.io.pii import text_sql
from ltv.io.plan import Plan
from ltv.io.sources import Part
from ltv.schema import sql_ident

NAMES = ["user_id", "item_id", "category_id", "behavior", "timestamp"]
EVENT_TYPES = {"pv": "view", "buy": "purchase", "cart": "cart", "fav": "fav"}


def csv_options(part: Part) -> dict:
    """Name the columns; the published file has no header, some re-exports do."""
    opener = gzip.open if str(part.path).endswith(".gz") else open
    with opener(part.path, "rt", errors="replace") as fh:
        first = fh.readline().split(",")[0].strip()
    has_header = bool(first) and not first.isdigit()
    return {"header": has_header, "names": NAMES}


def plans(ctx: Context, part: Part) -> list[Plan]:
    col = {name: find_column(ctx, name) for name in NAMES}
    if None in col.values():
        if len(ctx.types) != len(NAMES):
            raise SchemaError(
                f"the Taobao layout has 5 columns ({', '.join(NAMES)}); the source has "
                f"{len(ctx.types)}: {ctx.shown()}",
                "check that this is the Taobao UserBehavior file", table="events")
        col = dict(zip(NAMES, ctx.types))  # positional, e.g. a DataFrame read without names
    behavior = text_sql(sql_ident(col["behavior"]))
    whens = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in EVENT_TYPES.items())
    return [Plan("events", {
        "customer_id": text(ctx, col["user_id"]),
        "ts": timestamp(ctx, col["timestamp"], ts_format=ctx.ts_format or "epoch"),
        "event_type": Expr(f"CASE lower({behavior}) {whens} ELSE lower({behavior}) END",
                           columns=(col["behavior"],)),
        "product_id": text(ctx, col["item_id"]),
        "category": text(ctx, col["category_id"]),
    })]


ADAPTER = Adapter(name="taobao", doc=__doc__.splitlines()[0], plans=plans,
                  csv_options=csv_options)
