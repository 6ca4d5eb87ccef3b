"""REES46 multi-category store events (Kaggle "eCommerce behavior data"), one CSV per month.

Every row becomes an `events` row (event_time has a " UTC" suffix; category_code is the
category; user_session the session). Purchase events also become `transactions` rows with
amount = price and order_id = user_session; each target table has its own row accounting.
"""

from __future__ import annotations

from ltv.errors import SchemaError
from ltv.io.adapters import Adapter
from ltv.io.casting import Context, lower_text, number, text, timestamp
from ltv.io.mapping import find_column
from ltv.io.plan import Plan
from ltv.io.sources import Part
from ltv.schema import sql_ident

COLUMNS = ("event_time", "event_type", "product_id", "category_code", "price", "user_id",
           "user_session")


def plans(ctx: Context, part: Part) -> list[Plan]:
    col = {}
    for name in COLUMNS:
        col[name] = find_column(ctx, name)
        if col[name] is None:
            raise SchemaError(
                f"the REES46 layout needs a {name} column (the source has: "
                f"{ctx.shown()})",
                "check that this is a REES46 events file, or use --format canonical with --map",
                table="events", column=name)
    shared = {
        "customer_id": text(ctx, col["user_id"]),
        "ts": timestamp(ctx, col["event_time"]),
        "product_id": text(ctx, col["product_id"]),
        "category": text(ctx, col["category_code"]),
    }
    events = Plan("events", {
        **shared,
        "event_type": lower_text(ctx, col["event_type"]),
        "price": number(ctx, col["price"], "price"),
        "session_id": text(ctx, col["user_session"]),
    })
    is_purchase = f"lower(trim({sql_ident(col['event_type'])})) = 'purchase'"
    transactions = Plan("transactions", {
        **shared,
        "amount": number(ctx, col["price"], "amount"),
        "order_id": text(ctx, col["user_session"]),
    }, where=is_purchase, note="purchase events")
    return [events, transactions]


ADAPTER = Adapter(name="rees46", doc=__doc__.splitlines()[0], plans=plans)
