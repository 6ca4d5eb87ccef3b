"""SQL that turns raw source columns into canonical values, and notices values that do not convert.

Every builder returns an `Expr`: the SQL of the converted value plus the `Check`s that tell,
row by row, whether a raw value failed to convert (the row is quarantined with a reason like
"amount: not a number ('abc')") and, column-wide, whether *no* value converts (the ingest
stops with a SchemaError: the column has the wrong type or the format is wrong).

Timestamps end as naive TIMESTAMP values meaning UTC. A value with an explicit offset or zone
("... UTC", "...Z", "...+02:00") is converted from it; a value without one is read as local
time in the given time zone. `timezone('UTC', ...)` makes this independent of the session's
TimeZone setting.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ltv.errors import SchemaError
from ltv.io.pii import text_sql
from ltv.schema import sql_ident, sql_string

EPOCH_FORMATS = {"epoch": 1.0, "epoch_s": 1.0, "unix": 1.0, "epoch_ms": 1000.0, "unix_ms": 1000.0}
TS_FIX = ("give the timestamp format with --ts-format (strptime syntax, e.g. '%d/%m/%Y %H:%M'; "
          "'epoch' or 'epoch_ms' for Unix times) or map another column with --map ts=<column>")

# An explicit offset or zone after a time of day: "10:00:00 UTC", "10:00Z", "10:00:00+02:00".
_TZ_SUFFIX = (r"[0-9]:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?\s*"
              r"(Z|[+-][0-9]{2}(:?[0-9]{2})?|[A-Za-z_]+(/[A-Za-z_]+)*)$")
_NUMERIC = re.compile(r"^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|"
                      r"UBIGINT|UHUGEINT|FLOAT|DOUBLE|DECIMAL.*)$")
_NAIVE_TS = {"TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S", "DATE"}
_AWARE_TS = {"TIMESTAMP WITH TIME ZONE"}


@dataclass(frozen=True)
class Check:
    """A conversion whose failure quarantines the row (and fails the ingest if it fails for
    every value of the column)."""

    label: str  # the logical column the reason names, e.g. "amount"
    column: str  # the raw source column
    raw: str  # SQL: the raw value as text, NULL when missing
    value: str  # SQL: the converted value, NULL when it does not convert
    expected: str  # "a number", "a timestamp", ...
    fix: str

    def failed_sql(self) -> str:
        return f"({self.raw} IS NOT NULL AND {self.value} IS NULL)"

    def reason_sql(self) -> str:
        prefix = sql_string(f"{self.label}: not {self.expected} ('")
        return f"{prefix} || left({self.raw}, 40) || ''')'"


@dataclass(frozen=True)
class Expr:
    sql: str
    checks: tuple[Check, ...] = ()
    columns: tuple[str, ...] = field(default=())  # raw source columns it reads


_VALUE_LIKE = re.compile(r"@|^\+?[0-9][0-9 ().-]{6,}$")


def show_columns(names: list[str], hide_values: bool = False, limit: int = 25) -> str:
    """Column names for an error message. With PII declared, a name that looks like a value
    (an email, a phone number: a headerless file's first row) is hidden."""
    shown = ["<hidden>" if hide_values and _VALUE_LIKE.search(n) else n for n in names[:limit]]
    return ", ".join(shown) + (f", ... ({len(names)} in all)" if len(names) > limit else "")


@dataclass
class Context:
    """What builders need to know about the staged source and the user's options."""

    types: dict[str, str]  # raw column -> DuckDB type (PII columns are VARCHAR hashes)
    table: str = "transactions"
    ts_format: str | None = None
    timezone: str = "UTC"
    mapping: dict[str, str] = field(default_factory=dict)
    hide_values: bool = False  # PII declared: keep value-like column names out of messages

    def shown(self) -> str:
        return show_columns(list(self.types), self.hide_values)

    def require(self, column: str, table: str, role: str) -> None:
        if column not in self.types:
            raise SchemaError(
                f"required column missing for {role} (the source has: {self.shown()})",
                f"check the --format, or map another column with --map {role}=<column>",
                table=table, column=column)


def is_numeric(sql_type: str) -> bool:
    return bool(_NUMERIC.match(sql_type))


def raw_text(column: str) -> str:
    return f"NULLIF(trim(CAST({sql_ident(column)} AS VARCHAR)), '')"


def literal(value: str | None) -> Expr:
    return Expr("CAST(NULL AS VARCHAR)" if value is None else sql_string(value))


def text(ctx: Context, column: str) -> Expr:
    """Trimmed text; empty -> NULL; an integral float id (17850.0) -> '17850'."""
    return Expr(text_sql(sql_ident(column)), columns=(column,))


def lower_text(ctx: Context, column: str) -> Expr:
    return Expr(f"lower({text_sql(sql_ident(column))})", columns=(column,))


def keep(ctx: Context, column: str) -> Expr:
    """The raw value as it is (attribute columns keep their source type)."""
    return Expr(sql_ident(column), columns=(column,))


def number(ctx: Context, column: str, label: str) -> Expr:
    if is_numeric(ctx.types[column]):
        return Expr(f"CAST({sql_ident(column)} AS DOUBLE)", columns=(column,))
    raw = raw_text(column)
    value = f"TRY_CAST({raw} AS DOUBLE)"
    check = Check(label, column, raw, value, "a number",
                  f"clean the values, or map a numeric column with --map {label}=<column>")
    return Expr(value, (check,), (column,))


def product(a: Expr, b: Expr) -> Expr:
    # round() drops binary noise (6 x 2.55 = 15.299999999999999 -> 15.3), keeping 10 decimals.
    return Expr(f"round(({a.sql}) * ({b.sql}), 10)", a.checks + b.checks, a.columns + b.columns)


def to_utc(naive_sql: str, tz: str) -> str:
    if tz.upper() == "UTC":
        return f"CAST({naive_sql} AS TIMESTAMP)"
    return f"timezone('UTC', timezone({sql_string(tz)}, CAST({naive_sql} AS TIMESTAMP)))"


def aware_to_utc(aware_sql: str) -> str:
    return f"timezone('UTC', {aware_sql})"


def _epoch(value_sql: str, scale: float) -> str:
    # to_timestamp raises on absurd values; the guard keeps them as "does not convert".
    seconds = f"(({value_sql}) / {scale})"
    return (f"CASE WHEN abs({seconds}) < 1e11 THEN {aware_to_utc(f'to_timestamp({seconds})')} "
            "END")


def timestamp(ctx: Context, column: str, label: str = "ts", *, tz: str | None = None,
              ts_format: str | None = None, fallback_formats: tuple[str, ...] = ()) -> Expr:
    """A UTC timestamp from a timestamp, date, Unix-time or text column.

    `tz` is the zone of values without one (default: the context's); `ts_format` a strptime
    format or 'epoch'/'epoch_ms' (default: the context's); `fallback_formats` are tried after
    ISO 8601 when no format is given (an adapter's known layouts).
    """
    tz = tz or ctx.timezone
    fmt = ts_format if ts_format is not None else ctx.ts_format
    sql_type, col = ctx.types[column], sql_ident(column)
    if sql_type in _AWARE_TS:
        return Expr(aware_to_utc(col), columns=(column,))
    if sql_type in _NAIVE_TS:
        return Expr(to_utc(col, tz), columns=(column,))
    raw = text_sql(col) if is_numeric(sql_type) else raw_text(column)
    if fmt and fmt.lower() in EPOCH_FORMATS:
        value = _epoch(f"TRY_CAST({raw} AS DOUBLE)", EPOCH_FORMATS[fmt.lower()])
        expected = f"a Unix time ({fmt})"
    elif fmt:
        parsed = f"try_strptime({raw}, {sql_string(fmt)})"
        value = aware_to_utc(parsed) if ("%z" in fmt or "%Z" in fmt) else to_utc(parsed, tz)
        expected = f"a timestamp in the format '{fmt}'"
    elif is_numeric(sql_type):
        raise SchemaError(
            "the timestamp column holds numbers, which could be Unix seconds, milliseconds "
            "or dates like 20110131",
            "say which with --ts-format epoch, --ts-format epoch_ms or --ts-format %Y%m%d",
            table=ctx.table, column=column)
    else:
        aware = aware_to_utc(f"TRY_CAST({raw} AS TIMESTAMPTZ)")
        naive = [to_utc(f"TRY_CAST({raw} AS TIMESTAMP)", tz)]
        naive += [to_utc(f"try_strptime({raw}, {sql_string(f)})", tz) for f in fallback_formats]
        value = (f"CASE WHEN regexp_matches({raw}, {sql_string(_TZ_SUFFIX)}) THEN {aware} "
                 f"ELSE coalesce({', '.join(naive)}) END")
        expected = "a timestamp"
    return Expr(value, (Check(label, column, raw, value, expected, TS_FIX),), (column,))


def cast_canonical(ctx: Context, column: str, target: str, sql_type: str) -> Expr:
    """The conversion for a canonical column of the given DuckDB type."""
    if sql_type == "DOUBLE":
        return number(ctx, column, target)
    if sql_type == "TIMESTAMP":
        return timestamp(ctx, column, target)
    if target == "event_type":
        return lower_text(ctx, column)
    return text(ctx, column)
