"""The generic layout: canonical column names, or a column map onto them.

`mapping` maps a target to a source column: {"customer": "CustomerID", "ts": "InvoiceDate",
"amount": "Revenue"}. Targets may be canonical names or short aliases (customer, ts/date/time,
order, product, session, event, qty, price/unit_price). A value in single quotes is a
constant: {"event_type": "'purchase'"} for a log where every row is a purchase. Canonical
columns that are not mapped are taken from a source column of the same name when there is
one. For transactions without an amount column, quantity x unit price gives the amount.
Customers and products keep every other source column as an attribute.
"""

from __future__ import annotations

from ltv.errors import IngestError, SchemaError
from ltv.io.casting import Context, Expr, cast_canonical, keep, literal, number, product
from ltv.io.plan import Plan
from ltv.schema import CONTRACTS, TableContract

INGESTIBLE = ("transactions", "events", "customers", "products")
ALIASES = {
    "customer": "customer_id", "customerid": "customer_id", "customer id": "customer_id",
    "ts": "ts", "date": "ts", "time": "ts", "timestamp": "ts", "datetime": "ts",
    "order": "order_id", "product": "product_id", "session": "session_id",
    "event": "event_type", "qty": "quantity", "unit_price": "unit_price",
}
UNIT_PRICE = "unit_price"  # a transactions-only input: amount = quantity x unit_price
BOOKKEEPING = {"_ingest_id", "_source_row"}


def contract_for(table: str) -> TableContract:
    if table not in INGESTIBLE:
        raise IngestError(f"cannot ingest into table '{table}'",
                          f"choose one of: {', '.join(INGESTIBLE)} (--table)")
    return CONTRACTS[table]


def target_name(key: str, contract: TableContract) -> str:
    name = key.strip()
    alias = ALIASES.get(name.lower())
    if alias is None and name.lower() == "price" and contract.name == "transactions":
        alias = UNIT_PRICE
    name = alias or name
    allowed = contract.names + ([UNIT_PRICE] if contract.name == "transactions" else [])
    if name not in allowed and not contract.extra_columns:
        raise SchemaError(
            f"the column map names an unknown target '{key}'",
            f"map onto one of: {', '.join(allowed)} (aliases: customer, ts, order, product, "
            "session, event, qty, price)", table=contract.name)
    return name


def find_column(ctx: Context, name: str) -> str | None:
    """The source column called `name` (exact match first, then ignoring case)."""
    if name in ctx.types:
        return name
    matches = [c for c in ctx.types if c.lower() == name.lower()]
    return matches[0] if len(matches) == 1 else None


def resolve(ctx: Context, contract: TableContract) -> dict[str, str]:
    """target -> source column, or a quoted constant."""
    chosen: dict[str, str] = {}
    for key, value in (ctx.mapping or {}).items():
        target = target_name(key, contract)
        value = str(value).strip()
        if len(value) >= 2 and value[0] == value[-1] == "'":
            chosen[target] = value
            continue
        column = find_column(ctx, value)
        if column is None:
            raise SchemaError(
                f"the column map sends '{value}' to {target}, but the source has no such "
                f"column (it has: {ctx.shown()})",
                f"fix the spelling in --map {key}=<column>", table=contract.name, column=value)
        chosen[target] = column
    used = set(chosen.values())
    wanted = contract.names + ([UNIT_PRICE, "price"] if contract.name == "transactions" else [])
    for name in wanted:
        target = UNIT_PRICE if name == "price" and contract.name == "transactions" else name
        column = find_column(ctx, name)
        if target not in chosen and column is not None and column not in used:
            chosen[target] = column
            used.add(column)
    return chosen


def _require(contract: TableContract, chosen: dict[str, str], ctx: Context) -> None:
    shown = ctx.shown()
    for name in contract.required:
        if name in chosen:
            continue
        if name == "amount" and "quantity" in chosen and UNIT_PRICE in chosen:
            continue
        extra = (" (or quantity and unit_price, multiplied)" if name == "amount" else "")
        hint = (" For a log where every row is one kind of event, give a constant: "
                "--map \"event_type='purchase'\"." if name == "event_type" else "")
        raise SchemaError(
            f"required column missing{extra} (the source has: {shown})",
            f"rename your column to '{name}' or map it: --map {name}=<column>.{hint}",
            table=contract.name, column=name)


def canonical_plans(ctx: Context) -> list[Plan]:
    contract = contract_for(ctx.table)
    chosen = resolve(ctx, contract)
    _require(contract, chosen, ctx)
    fields: dict[str, Expr] = {}
    for col in contract.columns:
        source = chosen.get(col.name)
        if source is None:
            continue
        if source.startswith("'"):
            if col.sql_type != "VARCHAR":
                raise SchemaError(f"a constant ({source}) can only fill a text column",
                                  f"map {col.name} to a source column instead",
                                  table=contract.name, column=col.name)
            fields[col.name] = literal(source[1:-1])
        else:
            fields[col.name] = cast_canonical(ctx, source, col.name, col.sql_type)
    if contract.name == "transactions" and "amount" not in fields:
        fields["amount"] = product(number(ctx, chosen["quantity"], "quantity"),
                                   number(ctx, chosen[UNIT_PRICE], UNIT_PRICE))
    attributes = []
    if contract.extra_columns:
        used = {v for v in chosen.values()}
        for target, source in chosen.items():
            if target not in contract.names and target != UNIT_PRICE:
                fields[target] = literal(source[1:-1]) if source.startswith("'") else keep(ctx, source)
                attributes.append(target)
        taken = {f.lower() for f in fields}
        for column in ctx.types:
            if column not in used and column.lower() not in taken and column not in BOOKKEEPING:
                fields[column] = keep(ctx, column)
                attributes.append(column)
                taken.add(column.lower())
    return [Plan(table=contract.name, fields=fields, attributes=attributes)]
