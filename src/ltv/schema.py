"""The data contracts: canonical tables, their columns and types, and the row rules.

Everything in `ltv` agrees on these long tables (like statsforecast's `unique_id, ds, y`):

- transactions: one row per purchase line (or order), money in currency units, returns negative.
- events:       behaviour (view, cart, purchase, ...).
- customers:    attributes, optionally with `valid_from` so they can be joined as of a cutoff.
- products:     product attributes (category) joined onto transactions and events.
- features:     one row per customer as of a cutoff.
- predictions:  one row per customer and model.

Row rules are SQL predicates so the same rule serves two callers: the ingestion engine (which
quarantines bad rows at DuckDB speed) and `validate()` (which raises on the first bad row of a
DataFrame handed to the Python API). Timestamps are naive `TIMESTAMP` values meaning UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import pandas as pd
import pyarrow as pa

from ltv.errors import SchemaError


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str  # DuckDB type of the canonical column
    required: bool = False
    doc: str = ""


@dataclass(frozen=True)
class RowRule:
    """A row is bad when `bad_when` (SQL over canonical columns) is true."""

    column: str
    bad_when: str
    reason: str  # stored in quarantine.reason; starts with the column name
    fix: str


@dataclass(frozen=True)
class TableContract:
    name: str
    columns: tuple[Column, ...]
    rules: tuple[RowRule, ...] = ()
    extra_columns: bool = False  # may carry columns beyond the contract (attributes)
    doc: str = ""
    key: tuple[str, ...] = field(default=())

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    def rejection_reason_sql(self, present: list[str] | None = None) -> str:
        """A SQL expression giving the first broken rule's reason, or NULL for a good row.

        `present` limits the rules to columns that exist in the relation being checked.
        """
        rules = [r for r in self.rules if present is None or r.column in present]
        if not rules:
            return "CAST(NULL AS VARCHAR)"
        whens = " ".join(f"WHEN {r.bad_when} THEN {sql_string(r.reason)}" for r in rules)
        return f"CASE {whens} ELSE NULL END"


def sql_string(text: str) -> str:
    """Quote a Python string as a SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def sql_ident(name: str) -> str:
    """Quote an identifier (column names in user files can hold spaces and quotes)."""
    return '"' + name.replace('"', '""') + '"'


def _missing(col: str) -> str:
    return f"({col} IS NULL OR trim(CAST({col} AS VARCHAR)) = '')"


def _not_finite(col: str) -> str:
    return f"({col} IS NULL OR isnan({col}) OR isinf({col}))"


_CUSTOMER_RULE = RowRule(
    "customer_id",
    _missing("customer_id"),
    "customer_id: missing (guest checkout or anonymous row)",
    "rows without a customer cannot get an LTV; if the id is in another column, map it "
    "with --map customer=<column>",
)

TRANSACTIONS = TableContract(
    name="transactions",
    doc="Purchase lines. amount is net money in currency units: returns and cancellations "
    "are negative rows linked to their customer.",
    columns=(
        Column("customer_id", "VARCHAR", True, "who bought"),
        Column("ts", "TIMESTAMP", True, "when, UTC"),
        Column("amount", "DOUBLE", True, "net value of the line, currency units"),
        Column("order_id", "VARCHAR", doc="groups lines into one order"),
        Column("product_id", "VARCHAR"),
        Column("category", "VARCHAR"),
        Column("quantity", "DOUBLE", doc="units; negative on returns"),
        Column("channel", "VARCHAR"),
    ),
    rules=(
        _CUSTOMER_RULE,
        RowRule(
            "ts",
            "ts IS NULL",
            "ts: missing or not a timestamp",
            "give the timestamp format (--ts-format) or clean the value",
        ),
        RowRule(
            "amount",
            _not_finite("amount"),
            "amount: missing or not a finite number",
            "map the money column (--map amount=<column>) or quantity and unit price",
        ),
    ),
)

EVENTS = TableContract(
    name="events",
    doc="Behaviour: views, carts, purchases and any other event type (lower case).",
    columns=(
        Column("customer_id", "VARCHAR", True),
        Column("ts", "TIMESTAMP", True, "when, UTC"),
        Column("event_type", "VARCHAR", True, "view, cart, purchase, ..."),
        Column("product_id", "VARCHAR"),
        Column("category", "VARCHAR"),
        Column("price", "DOUBLE", doc="currency units"),
        Column("session_id", "VARCHAR"),
    ),
    rules=(
        _CUSTOMER_RULE,
        RowRule("ts", "ts IS NULL", "ts: missing or not a timestamp",
                "give the timestamp format (--ts-format) or clean the value"),
        RowRule("event_type", _missing("event_type"), "event_type: missing",
                "map the event type column with --map event_type=<column>"),
        RowRule("price", "price < 0 OR isnan(price) OR isinf(price)",
                "price: negative or not finite", "prices are unit prices and must be >= 0"),
    ),
)

CUSTOMERS = TableContract(
    name="customers",
    doc="Customer attributes. Any extra column is kept as an attribute. valid_from says when "
    "the row became known; features join the latest row with valid_from < cutoff (NULL = "
    "always known, e.g. a static attribute).",
    extra_columns=True,
    key=("customer_id",),
    columns=(
        Column("customer_id", "VARCHAR", True),
        Column("signup_ts", "TIMESTAMP", doc="UTC"),
        Column("channel", "VARCHAR", doc="acquisition channel"),
        Column("valid_from", "TIMESTAMP", doc="UTC; NULL = known at all times"),
    ),
    rules=(_CUSTOMER_RULE,),
)

PRODUCTS = TableContract(
    name="products",
    doc="Product attributes; category fills transactions/events that lack one.",
    extra_columns=True,
    key=("product_id",),
    columns=(
        Column("product_id", "VARCHAR", True),
        Column("category", "VARCHAR"),
    ),
    rules=(
        RowRule("product_id", _missing("product_id"), "product_id: missing",
                "map the product id column with --map product_id=<column>"),
    ),
)

FEATURES = TableContract(
    name="features",
    doc="One row per customer as of `cutoff`; nothing at or after the cutoff influences it.",
    extra_columns=True,
    key=("customer_id",),
    columns=(
        Column("customer_id", "VARCHAR", True),
        Column("cutoff", "TIMESTAMP", True, "UTC; features use ts < cutoff"),
    ),
    rules=(_CUSTOMER_RULE,),
)

PREDICTIONS = TableContract(
    name="predictions",
    doc="ltv is the expected net spend over the horizon; [ltv_lo, ltv_hi] its interval; "
    "p_active the probability of any purchase in the horizon.",
    key=("customer_id", "model"),
    columns=(
        Column("customer_id", "VARCHAR", True),
        Column("model", "VARCHAR", True),
        Column("ltv", "DOUBLE", True, "currency units over the horizon"),
        Column("ltv_lo", "DOUBLE", True),
        Column("ltv_hi", "DOUBLE", True),
        Column("p_active", "DOUBLE", True, "probability in [0, 1]"),
    ),
    rules=(
        _CUSTOMER_RULE,
        RowRule("ltv", _not_finite("ltv"), "ltv: missing or not finite", "models must "
                "predict a finite value for every customer"),
        RowRule("ltv_lo", "ltv_lo > ltv_hi", "ltv_lo: above ltv_hi", "an interval needs lo <= hi"),
        RowRule("p_active", "p_active IS NULL OR p_active < 0 OR p_active > 1",
                "p_active: outside [0, 1]", "p_active is a probability"),
    ),
)

CONTRACTS: dict[str, TableContract] = {
    c.name: c for c in (TRANSACTIONS, EVENTS, CUSTOMERS, PRODUCTS, FEATURES, PREDICTIONS)
}


def validate(contract: TableContract, data: pd.DataFrame | pa.Table) -> pd.DataFrame:
    """Check `data` against `contract` and return it with canonical column types.

    Raises `SchemaError` naming the table, column, row (1-based) and value, with the fix, for:
    a missing required column, a value that does not convert to the column type, or a row
    that breaks a rule. Extra columns are kept only where the contract allows them.
    """
    frame = data.to_pandas() if isinstance(data, pa.Table) else data
    if not isinstance(frame, pd.DataFrame):
        raise SchemaError(f"expected a pandas DataFrame or Arrow table, got {type(data).__name__}",
                          "pass a DataFrame", table=contract.name)
    missing = [c for c in contract.required if c not in frame.columns]
    if missing:
        shown = ", ".join(map(str, list(frame.columns)[:20]))
        raise SchemaError(
            f"required column missing (the data has: {shown})",
            f"rename your column to '{missing[0]}' or map it (CLI: --map {missing[0]}=<column>)",
            table=contract.name, column=missing[0],
        )
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        numbered = frame.reset_index(drop=True)
        numbered.insert(0, "__row", range(1, len(numbered) + 1))
        con.register("__input", numbered)
        present = [c for c in contract.names if c in frame.columns]
        extras = [c for c in frame.columns if c not in contract.names] if contract.extra_columns else []
        casts = [f"TRY_CAST({sql_ident(c)} AS {contract.column(c).sql_type}) AS {sql_ident(c)}"
                 for c in present]
        extra_sel = [sql_ident(str(c)) for c in extras]
        con.execute(
            "CREATE TEMP TABLE __typed AS SELECT __row, "
            + ", ".join(casts + extra_sel)
            + ", " + ", ".join(f"{sql_ident(c)} AS {sql_ident('__raw_' + c)}" for c in present)
            + " FROM __input"
        )
        for name in present:
            _check_cast(con, contract, name)
        reason = contract.rejection_reason_sql(present)
        bad = con.execute(
            f"SELECT __row, {reason} AS reason FROM __typed WHERE {reason} IS NOT NULL "
            "ORDER BY __row LIMIT 1"
        ).fetchone()
        if bad:
            row, why = bad
            rule = next(r for r in contract.rules if r.reason == why)
            value = con.execute(
                f"SELECT {sql_ident('__raw_' + rule.column)} FROM __typed WHERE __row = ?", [row]
            ).fetchone()[0]
            raise SchemaError(f"{why.split(': ', 1)[1]} (value: {value!r})", rule.fix,
                              table=contract.name, column=rule.column, row=row)
        cols = ", ".join(sql_ident(str(c)) for c in present + extras)
        return con.execute(f"SELECT {cols} FROM __typed ORDER BY __row").df()
    finally:
        con.close()


def _check_cast(con: duckdb.DuckDBPyConnection, contract: TableContract, name: str) -> None:
    raw, typed = sql_ident("__raw_" + name), sql_ident(name)
    n_values, n_bad, first_row, first_value = con.execute(
        f"SELECT count({raw}), count(*) FILTER (WHERE {raw} IS NOT NULL AND {typed} IS NULL), "
        f"min(__row) FILTER (WHERE {raw} IS NOT NULL AND {typed} IS NULL), "
        f"arg_min(CAST({raw} AS VARCHAR), __row) FILTER (WHERE {raw} IS NOT NULL AND {typed} IS NULL) "
        "FROM __typed"
    ).fetchone()
    if n_bad:
        sql_type = contract.column(name).sql_type
        scope = "no value converts" if n_bad == n_values else f"{n_bad} of {n_values} values do not convert"
        raise SchemaError(
            f"{scope} to {sql_type} (first at row {first_row}: {first_value!r})",
            f"convert the column to {sql_type} before passing it, or map another column",
            table=contract.name, column=name, row=first_row,
        )


def validate_transactions(data: pd.DataFrame | pa.Table) -> pd.DataFrame:
    return validate(TRANSACTIONS, data)


def validate_events(data: pd.DataFrame | pa.Table) -> pd.DataFrame:
    return validate(EVENTS, data)


def validate_customers(data: pd.DataFrame | pa.Table) -> pd.DataFrame:
    return validate(CUSTOMERS, data)


def validate_products(data: pd.DataFrame | pa.Table) -> pd.DataFrame:
    return validate(PRODUCTS, data)


def validate_features(data: pd.DataFrame | pa.Table) -> pd.DataFrame:
    return validate(FEATURES, data)


def validate_predictions(data: pd.DataFrame | pa.Table) -> pd.DataFrame:
    return validate(PREDICTIONS, data)
