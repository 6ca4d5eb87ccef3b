"""`build_features`: one row per customer as of a cutoff, optionally with labels.

The steps, each in its own module:

  sources     warehouse tables or raw Parquet -> canonical temp views
  staging     lines -> (customer, day, order): the one full scan of the lines
  passes      the customer pass: one GROUP BY over the staged orders for every module below
              that works from orders (rfm, totals, windows, intervals, sequences, labels)
  rfm         BTYD summary (frequency, recency, T, monetary_value), lifetimes' definition
  totals      lifetime money, orders, lines, items, returns, first/last purchase
  windows     activity in [cutoff - w days, cutoff) and trends between windows
  intervals   gaps between purchase days
  sequences   weekly spend/orders of the last N weeks as fixed-length lists
  labels      spend, orders, purchase days in [cutoff, cutoff + horizon)
  categories  top-K category shares and category breadth (a second scan of the lines)
  events      event counts by type per window, funnel ratios
  attributes  customers table as of the cutoff
  output      the final SELECT as Arrow batches, finished in numpy, written by pyarrow

Point in time: every feature reads only rows with ts < cutoff (customers: valid_from <
cutoff or NULL), and which columns exist (top categories, event types, attributes) is decided
from those rows too, so adding, changing or deleting later rows changes no feature. Only the
label columns read [cutoff, cutoff + horizon).
"""

from __future__ import annotations

import datetime as dt
import uuid
import warnings
from functools import partial
from pathlib import Path

import duckdb
import pandas as pd

from ltv.errors import SchemaError
from ltv.features import (attributes, categories, events, intervals, labels, output, passes,
                          rfm, sequences, totals, windows)
from ltv.features.context import Context
from ltv.features.params import FeatureError, check_params, sql_timestamp
from ltv.features.sources import Inputs, open_connection, register, session_settings
from ltv.features.staging import stage

CUSTOMER_PASS = (rfm, totals, windows, intervals, sequences, labels)  # see passes
OWN_TABLES = (categories, events, attributes)  # each builds its own table
OUTPUT_ORDER = (rfm, totals, windows, intervals, categories, events, attributes, sequences,
                labels)


class CensoredLabelsWarning(UserWarning):
    """The label horizon reaches past the last transaction: labels there are understated."""


def build_features(db: str | Path | duckdb.DuckDBPyConnection | None = None,
                   cutoff: str | dt.datetime | None = None, *,
                   horizon_days: int | None = None, labels: bool = False,
                   transactions: str | Path | None = None,
                   events=None, customers=None, products=None,
                   windows=(7, 30, 90, 180, 365), top_k_categories: int = 10,
                   sequence_weeks: int = 52,
                   top_categories: list[str] | None = None,
                   event_types: list[str] | None = None,
                   out: str | Path | None = None,
                   return_frame: bool = True) -> pd.DataFrame | None:
    """Point-in-time features (and labels) per customer; see the module docstrings for each.

    db: the warehouse (a path, opened read-only, or an open connection). With None, tables
        come only from the Parquet paths given; when no transactions path is given either,
        the warehouse of `ltv.settings` (LTV_DB, default ltv.duckdb) is used.
    cutoff: exclusive bound, UTC (a date means its midnight; a time zone is converted to UTC).
        None: the midnight after the last transaction (features "as of the end of the data").
    horizon_days, labels: labels=True adds label_* columns over [cutoff, cutoff + horizon).
        A horizon that reaches past the last transaction is allowed, with a
        CensoredLabelsWarning: labels there only count what was recorded.
    transactions, events, customers, products: Parquet file, directory, glob or list of them,
        read directly by DuckDB instead of the warehouse table of the same name.
    windows: trailing windows in days; top_k_categories: share columns (0: none);
    sequence_weeks: length of seq_spend/seq_orders (0: none).
    top_categories, event_types: fix the population-level choices that are otherwise made
        from all customers' rows before the cutoff (which categories get share columns, which
        event types get count columns), so that a table built over a few customers has the
        columns of one built over all (what the online store's incremental updates need).
        The choices made are in the DataFrame's attrs["population"] ({"top_categories":
        list or None, "event_types": list or None}; None: no such columns).
    out: also write the table to this .parquet or .csv file (atomically), from Arrow batches
        (see `output`).
    return_frame: False returns None instead of a DataFrame: with `out`, the rows then never
        pass through Python (what a 10M-customer table needs: its sequence lists alone would
        be tens of millions of Python objects).

    Returns one row per customer with a transaction line before the cutoff, sorted by
    customer_id, with `customer_id`, `cutoff` and the feature (and label) columns (the file
    written with return_frame=False has the same rows, unsorted: sorting 10M wide rows costs
    more than it is worth to anyone who reads the file into a model).
    """
    if not return_frame and out is None:
        raise FeatureError("return_frame=False without `out` would compute features and keep "
                           "them nowhere", "pass out=<path>.parquet, or return_frame=True")
    if out is not None:
        output.check_path(out)
    params = check_params(cutoff, horizon_days, labels, windows, top_k_categories,
                          sequence_weeks, top_categories, event_types)
    paths = {"transactions": transactions, "events": events, "customers": customers,
             "products": products}
    if db is None and transactions is None:
        from ltv.settings import get_settings
        db = get_settings().db
    con, owned, catalog = open_connection(db)
    inputs = Inputs(con, owned)
    prefix = f"_ltvf_{uuid.uuid4().hex[:8]}_"
    ctx = None
    try:
        with session_settings(con):
            register(inputs, catalog, paths, prefix)
            if not inputs.has("transactions"):
                raise SchemaError("no transactions to build features from",
                                  "ingest transactions into the warehouse (`ltv ingest`) or "
                                  "pass transactions=<Parquet path>", table="transactions")
            resolved = params.cutoff or _default_cutoff(con, inputs)
            ctx = Context(inputs, params, resolved, prefix)
            if params.labels:
                _warn_if_censored(ctx)
            query = _assemble(ctx, order=return_frame)
            finish = partial(sequences.expand, n=params.sequence_weeks)
            if not return_frame:
                with ctx.timed("write"):
                    output.write(con, *output.batches(con, query, finish), out)
                return None
            with ctx.timed("fetch"):
                table = output.to_table(con, query, finish)
            if out is not None:
                with ctx.timed("write"):
                    output.write(con, table.schema, table.to_batches(), out)
            with ctx.timed("to pandas"):
                frame = output.to_frame(table)
            frame.attrs["population"] = {"top_categories": ctx.chosen.get("top_categories"),
                                         "event_types": ctx.chosen.get("event_types")}
            return frame
    finally:
        if ctx is not None:
            ctx.drop_all()
        if owned:
            con.close()
        else:
            for src in inputs.sources.values():
                con.execute(f"DROP VIEW IF EXISTS {src.view}")


def _default_cutoff(con, inputs: Inputs) -> dt.datetime:
    view = inputs.sources["transactions"].view
    last = con.execute(f"SELECT max(ts) FROM {view}").fetchall()[0][0]
    if last is None:
        raise SchemaError("the transactions are empty, so there is no default cutoff",
                          "ingest transactions first, or pass a cutoff", table="transactions")
    return dt.datetime.combine(last.date() + dt.timedelta(days=1), dt.time(0))


def _warn_if_censored(ctx: Context) -> None:
    end = ctx.cutoff + dt.timedelta(days=ctx.params.horizon_days)
    last = ctx.scalar(f"SELECT max(ts) FROM {ctx.source('transactions')}")
    if last is None or last < end - dt.timedelta(days=1):
        warnings.warn(
            f"the label window [{ctx.cutoff}, {end}) reaches past the last transaction "
            f"({last}): labels count only what was recorded, so they understate the horizon; "
            "choose an earlier cutoff or a shorter horizon_days for training",
            CensoredLabelsWarning, stacklevel=3)


def _assemble(ctx: Context, *, order: bool) -> str:
    """Build every part and return the SELECT that joins them into the feature table."""
    staged = stage(ctx)
    base = passes.customer_pass(ctx, staged, CUSTOMER_PASS)
    if not ctx.scalar(f"SELECT count(*) FROM {base}"):
        warnings.warn(f"no transaction before the cutoff {ctx.cutoff}: the feature table is "
                      "empty", stacklevel=3)
    tables, columns = {}, {}
    for module in CUSTOMER_PASS:
        tables[module], columns[module] = base, module.columns(ctx, staged)
    for module in OWN_TABLES:
        part = module.build(ctx, staged)
        if part is not None:
            tables[module], columns[module] = part.table, part.columns
    aliases = {base: "b"}
    joins = [f"{base} b"]
    for table in dict.fromkeys(tables.values()):
        if table not in aliases:
            aliases[table] = f"t{len(aliases)}"
            joins.append(f"LEFT JOIN {table} {aliases[table]} "
                         f"ON {aliases[table]}.customer_id = b.customer_id")
    select = ["b.customer_id", f"{sql_timestamp(ctx.cutoff)} AS cutoff"]
    for module in OUTPUT_ORDER:
        if module in columns:
            t = aliases[tables[module]]
            select += [f'{expr.format(t=t)} AS "{name}"'
                       for name, expr in columns[module].items()]
    return (f"SELECT {', '.join(select)} FROM {' '.join(joins)}"
            + (" ORDER BY b.customer_id" if order else ""))
