"""84.51 / dunnhumby "The Complete Journey 2.0": a grocery panel of 2,469 households, 2017.

- transactions.parquet -> transactions: customer_id = household_id, order_id = basket_id,
  amount = sales_value (already the line total, so it is NOT multiplied by quantity).
- products.parquet -> products: category = department; product_category, product_type,
  brand, manufacturer_id and package_size are kept as attributes.
- demographics.parquet -> customers: age, income, household size... as attributes, with
  valid_from NULL (a survey snapshot, treated as known at all times).

Give the folder, or transactions.parquet (its products and demographics siblings are read
too when present). The published timestamps carry no zone; they are read in --timezone
(default UTC). Campaign and coupon files are not read.
"""

from __future__ import annotations

from ltv.errors import IngestError, SchemaError
from ltv.io.adapters import Adapter
from ltv.io.casting import Context, Expr, keep, number, text, timestamp
from ltv.io.mapping import find_column
from ltv.io.plan import Plan
from ltv.io.sources import Part

FILES = ("transactions", "products", "demographics")
PRODUCT_ATTRIBUTES = ("product_category", "product_type", "brand", "manufacturer_id",
                      "package_size")
SIGNATURES = {  # the columns that tell which file a part is
    "transactions": ("household_id", "basket_id", "sales_value"),
    "products": ("product_id", "department"),
    "demographics": ("household_id", "income"),
}


def expand(parts: list[Part]) -> list[Part]:
    out: list[Part] = []
    for part in parts:
        if part.path is None:
            out.append(part)
            continue
        if part.path.is_dir():
            found = [part.path / f"{name}.parquet" for name in FILES]
            found = [p for p in found if p.exists()]
            if not found:
                raise IngestError(
                    f"{part.path} holds none of {', '.join(f + '.parquet' for f in FILES)}",
                    "point --format complete-journey at the folder of the Complete Journey "
                    "parquet files (or at transactions.parquet)")
        elif part.path.name.startswith("transactions."):
            siblings = [part.path.with_name(f"{name}.parquet") for name in FILES[1:]]
            found = [part.path] + [p for p in siblings if p.exists()]
        else:
            found = [part.path]
        out += [Part(label=str(p), path=p) for p in found]
    return out


def _role(ctx: Context) -> str:
    for role, columns in SIGNATURES.items():
        if all(find_column(ctx, c) for c in columns):
            return role
    raise SchemaError(
        f"this is not a Complete Journey transactions, products or demographics file (its "
        f"columns: {ctx.shown()})",
        "pass transactions.parquet, products.parquet, demographics.parquet or their folder")


def _col(ctx: Context, name: str, table: str) -> str:
    found = find_column(ctx, name)
    if found is None:
        ctx.require(name, table, name)  # raises, naming the column and what the file has
    return found


def plans(ctx: Context, part: Part) -> list[Plan]:
    role = _role(ctx)
    if role == "transactions":
        col = lambda name: _col(ctx, name, "transactions")  # noqa: E731
        fields = {
            "customer_id": text(ctx, col("household_id")),
            "ts": timestamp(ctx, col("transaction_timestamp")),
            "amount": number(ctx, col("sales_value"), "amount"),
            "order_id": text(ctx, col("basket_id")),
            "product_id": text(ctx, col("product_id")),
        }
        if find_column(ctx, "quantity"):
            fields["quantity"] = number(ctx, find_column(ctx, "quantity"), "quantity")
        return [Plan("transactions", fields)]
    if role == "products":
        fields: dict[str, Expr] = {
            "product_id": text(ctx, _col(ctx, "product_id", "products")),
            "category": text(ctx, _col(ctx, "department", "products")),
        }
        used = {"product_id", "department"}
        for name in ctx.types:
            if name.lower() not in used:
                fields[name] = text(ctx, name) if name in PRODUCT_ATTRIBUTES else keep(ctx, name)
        return [Plan("products", fields, attributes=[f for f in fields if f not in
                                                     ("product_id", "category")])]
    fields = {"customer_id": text(ctx, _col(ctx, "household_id", "customers"))}
    for name in ctx.types:
        if name.lower() != "household_id":
            fields[name] = keep(ctx, name)
    return [Plan("customers", fields, attributes=[f for f in fields if f != "customer_id"],
                 note="demographics")]


ADAPTER = Adapter(name="complete-journey", doc=__doc__.splitlines()[0], plans=plans,
                  expand=expand)
