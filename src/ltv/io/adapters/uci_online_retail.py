"""UCI Online Retail (and Online Retail II): a UK gift shop's invoice lines, 2009-2011.

- amount = Quantity x UnitPrice; an invoice number starting with "C" is a cancellation and
  is kept as a negative amount (and quantity) on the customer who cancelled.
- CustomerID is a float in the published file (17850.0): it becomes the id "17850". Lines
  without one are guest checkouts and are quarantined by the customer rule.
- InvoiceDate is UK local time (GMT/BST): read in Europe/London, stored as UTC, unless another
  --timezone is given.
- Country becomes a `customers` attribute row, valid from the customer's first transaction in
  that country, so a point-in-time join never sees it before it was known.
"""

from __future__ import annotations

from ltv.errors import SchemaError
from ltv.io.adapters import Adapter
from ltv.io.casting import Context, Expr, number, text, timestamp
from ltv.io.mapping import find_column
from ltv.io.pii import text_sql
from ltv.io.plan import Plan, derived
from ltv.io.sources import Part
from ltv.io.staging import REASON, ROW
from ltv.schema import sql_ident

UK_TIME = "Europe/London"
# Two layouts were published: Online Retail (2010-11) and Online Retail II (2009-11).
COLUMNS = {
    "invoice": ("InvoiceNo", "Invoice"),
    "stock": ("StockCode",),
    "quantity": ("Quantity",),
    "date": ("InvoiceDate",),
    "price": ("UnitPrice", "Price"),
    "customer": ("CustomerID", "Customer ID"),
    "country": ("Country",),
}
# CSV exports of the original spreadsheet write dates as 12/1/2010 8:26 (month first).
CSV_DATE_FORMATS = ("%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S")


def _column(ctx: Context, role: str) -> str:
    for name in COLUMNS[role]:
        found = find_column(ctx, name)
        if found:
            return found
    raise SchemaError(
        f"the Online Retail layout needs a {' or '.join(COLUMNS[role])} column (the source "
        f"has: {ctx.shown()})",
        "check that this is the UCI Online Retail file, or use --format canonical with --map",
        table="transactions", column=COLUMNS[role][0])


def plans(ctx: Context, part: Part) -> list[Plan]:
    col = {role: _column(ctx, role) for role in COLUMNS}
    tz = ctx.timezone if ctx.timezone.upper() != "UTC" else UK_TIME
    quantity = number(ctx, col["quantity"], "quantity")
    price = number(ctx, col["price"], "unit_price")
    invoice = text(ctx, col["invoice"])
    cancelled = f"coalesce(upper({invoice.sql}) LIKE 'C%', false)"
    line = f"round(({quantity.sql}) * ({price.sql}), 10)"
    checks = quantity.checks + price.checks
    transactions = Plan("transactions", {
        "customer_id": text(ctx, col["customer"]),
        "ts": timestamp(ctx, col["date"], tz=tz, fallback_formats=CSV_DATE_FORMATS),
        "amount": Expr(f"CASE WHEN {cancelled} THEN -abs({line}) ELSE {line} END", checks,
                       (col["quantity"], col["price"], col["invoice"])),
        "order_id": invoice,
        "product_id": text(ctx, col["stock"]),
        "quantity": Expr(f"CASE WHEN {cancelled} THEN -abs({quantity.sql}) ELSE {quantity.sql} END",
                         quantity.checks, (col["quantity"], col["invoice"])),
    })
    country = text_sql(f"r.{sql_ident(col['country'])}")
    customers = derived(
        "customers",
        f"SELECT first(s.{ROW} ORDER BY s.ts, s.{ROW}) AS {ROW}, s.customer_id, "
        f"{country} AS country, min(s.ts) AS valid_from "
        f"FROM {{stage_transactions}} s JOIN {{raw}} r USING ({ROW}) "
        f"WHERE s.{REASON} IS NULL GROUP BY s.customer_id, {country}",
        ["customer_id", "country", "valid_from"], note="Country per customer",
        attributes=["country"])
    return [transactions, customers]


ADAPTER = Adapter(name="uci-online-retail", doc=__doc__.splitlines()[0], plans=plans)
