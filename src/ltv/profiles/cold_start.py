"""Cold start: LTV for customers with at most one purchase day, or only a signup.

Who is cold. As of a cutoff, a customer is cold when
- "first_purchase": their feature row has `frequency` == 0 (one purchase day before the
  cutoff; several same-day orders are one first basket; a history of returns only counts
  too), or
- "signup_only": the customers table knows them (signup_ts < cutoff) but they have no
  transaction line before the cutoff, so `build_features` has no row for them;
  `signup_only_rows` builds theirs.

What the model sees (`cold_start_frame`): the first basket (spend_total, gross_spend,
returned_spend, n_orders, n_lines, items_total, n_categories and the category shares), how
long ago it was (days_since_first) and how long after the signup (signup_to_first_days =
tenure_days - days_since_first), its calendar (weekday and day of year of the first
purchase), the browsing since (ev_*, conv_*, days_since_last_event), every customer
attribute as of the cutoff (attr_*: acquisition channel, demographics), has_purchase, and
the cutoff's day of year. For a signup-only row the basket counts are 0 and its timing NaN.

The model (`ColdStartModel`): the GBDT family (LightGBM tweedie, early stopping on the
latest window, refit, balance factor, conformal intervals, p_active; see
`ltv.models.gbdt`) trained only on the cold rows of the stacked training windows, i.e. on
earlier cohorts of first-time customers and signups with their next-H-days spend as label
(`cold_start_training` adds the signup-only rows of each window). Money is in currency
units over the horizon.
"""

from __future__ import annotations

import uuid

import numpy as np
import pandas as pd

from ltv.features import attributes
from ltv.features.context import Context
from ltv.features.params import check_params, parse_cutoff, sql_timestamp
from ltv.features.sources import Inputs, open_connection, register, session_settings
from ltv.errors import LTVError
from ltv.models.gbdt import GBDTModel
from ltv.models.protocol import TrainingData
from ltv.models.training_data import fill_optional_columns

BASKET = ("spend_total", "gross_spend", "returned_spend", "n_orders", "n_lines", "items_total",
          "n_categories")
TIMING = ("days_since_first", "tenure_days", "days_since_last_event")
PREFIXES = ("cat_share_", "ev_", "conv_", "attr_")
KEYS = ("customer_id", "cutoff")
SIGNUP_ONLY = "signup_only"
FIRST_PURCHASE = "first_purchase"


def cold_start_kind(frame: pd.DataFrame) -> np.ndarray:
    """Per row: "first_purchase", "signup_only" or None (not cold), for rows of a feature
    table and/or of `signup_only_rows` (marked by a true `signup_only` column)."""
    signup = frame["signup_only"].fillna(False).to_numpy(dtype=bool) \
        if "signup_only" in frame.columns else np.zeros(len(frame), bool)
    first = frame["frequency"].to_numpy(dtype=float) == 0 if "frequency" in frame.columns \
        else np.zeros(len(frame), bool)
    out = np.full(len(frame), None, dtype=object)
    out[first & ~signup] = FIRST_PURCHASE
    out[signup] = SIGNUP_ONLY
    return out


def cold_start_frame(rows: pd.DataFrame) -> pd.DataFrame:
    """The model's inputs for cold rows (see the module docstring), plus keys and label_*.

    `rows` are feature-table rows and/or `signup_only_rows`; every row is used as given, so
    select the cold ones first (`cold_start_kind`).
    """
    signup = cold_start_kind(rows) == SIGNUP_ONLY
    out = pd.DataFrame({k: rows[k].to_numpy() for k in KEYS}, index=rows.index)
    out["has_purchase"] = (~signup).astype(float)
    for col in BASKET + TIMING:
        # Every column exists whatever the rows are (NaN when unknown), so that signup-only
        # rows alone score with a model fitted on both kinds.
        out[col] = rows[col].to_numpy(dtype=float, na_value=np.nan) if col in rows.columns \
            else np.nan
    out["signup_to_first_days"] = out["tenure_days"] - out["days_since_first"]
    first = pd.to_datetime(rows["first_purchase_ts"]) if "first_purchase_ts" in rows.columns \
        else pd.Series(pd.NaT, index=rows.index)
    out["first_purchase_weekday"] = first.dt.day_of_week.astype(float).to_numpy()
    out["first_purchase_day_of_year"] = first.dt.day_of_year.astype(float).to_numpy()
    extra = [c for c in rows.columns if c.startswith(PREFIXES) or c.startswith("label_")]
    out = pd.concat([out, rows[extra]], axis=1)
    for col in BASKET:
        out.loc[signup, col] = 0.0  # a signup with no transaction bought nothing
    return out.reset_index(drop=True)


def signup_only_rows(db, cutoff, *, horizon_days: int | None = None,
                     labels: bool = False) -> pd.DataFrame:
    """One row per customer with signup_ts < cutoff and no transaction line before it.

    Columns: customer_id, cutoff, signup_only (True), frequency (0), tenure_days, the attr_*
    columns exactly as `build_features` makes them (the same point-in-time rule: the latest
    customers row with valid_from < cutoff or NULL), and with labels=True label_spend,
    label_orders, label_purchase_days, label_active over [cutoff, cutoff + horizon_days), as
    `ltv.features.labels` defines them (an order: a distinct order id within a calendar day,
    with a purchase line; for a midnight cutoff that is `staging`'s definition). Empty (with
    those columns) when the warehouse has no customers table or no signup_ts.
    """
    cut = parse_cutoff(cutoff)
    params = check_params(cut, horizon_days, labels, (7,), 0, 0, None, None)
    con, owned, catalog = open_connection(db)
    inputs = Inputs(con, owned)
    prefix = f"_ltvc_{uuid.uuid4().hex[:8]}_"
    ctx = Context(inputs, params, cut, prefix)
    try:
        with session_settings(con):
            register(inputs, catalog, {}, prefix, tables=("transactions", "customers"))
            if not inputs.has("customers") or not inputs.has("transactions") or \
                    "signup_ts" not in inputs.sources["customers"].columns:
                return _empty(labels)
            part = attributes.build(ctx, staged=None)
            if part is None:
                return _empty(labels)
            tx = ctx.source("transactions")
            select = [f'{expr.format(t="a")} AS "{name}"' for name, expr in part.columns.items()]
            label_cols, label_join = _labels_sql(tx, ctx.cut, params.horizon_days) \
                if labels else ("", "")
            frame = con.execute(f"""
                SELECT a.customer_id, {sql_timestamp(cut)} AS cutoff, TRUE AS signup_only,
                       0.0 AS frequency, {', '.join(select)} {label_cols}
                FROM {part.table} a {label_join}
                WHERE a.signup_ts < {ctx.cut}
                  AND NOT EXISTS (SELECT 1 FROM {tx} x WHERE x.customer_id = a.customer_id
                                  AND x.ts < {ctx.cut})
                ORDER BY a.customer_id""").df()
    finally:
        ctx.drop_all()
        if owned:
            con.close()
        else:
            for src in inputs.sources.values():
                con.execute(f"DROP VIEW IF EXISTS {src.view}")
    frame["customer_id"] = frame["customer_id"].astype(str)
    return frame


def _labels_sql(tx: str, cut: str, horizon_days: int) -> tuple[str, str]:
    """(select list, join) of the label columns over [cut, cut + horizon)."""
    end = f"({cut} + INTERVAL {int(horizon_days)} DAY)"
    order = ("coalesce(order_id, CAST(ts AS VARCHAR)) || '|' || "
             "CAST(CAST(ts AS DATE) AS VARCHAR)")
    join = f"""LEFT JOIN (
        SELECT customer_id, sum(amount) AS spend,
               count(DISTINCT CASE WHEN amount > 0 THEN {order} END) AS orders,
               count(DISTINCT CASE WHEN amount > 0 THEN CAST(ts AS DATE) END) AS days
        FROM {tx} WHERE ts >= {cut} AND ts < {end} GROUP BY customer_id
    ) l ON l.customer_id = a.customer_id"""
    cols = (", coalesce(l.spend, 0.0) AS label_spend, coalesce(l.orders, 0) AS label_orders, "
            "coalesce(l.days, 0) AS label_purchase_days, "
            "CAST(coalesce(l.days, 0) > 0 AS INTEGER) AS label_active")
    return cols, join


def _empty(labels: bool) -> pd.DataFrame:
    cols = ["customer_id", "cutoff", "signup_only", "frequency", "tenure_days"]
    if labels:
        cols += ["label_spend", "label_orders", "label_purchase_days", "label_active"]
    return pd.DataFrame({c: pd.Series(dtype=object if c == "customer_id" else float)
                         for c in cols})


def cold_start_training(db, data: TrainingData) -> TrainingData:
    """The cold rows of every training window plus each window's signup-only rows."""
    windows = data.windows
    parts = [windows[cold_start_kind(windows) != None]]  # noqa: E711 (object array)
    for origin in sorted(pd.to_datetime(windows["cutoff"]).unique()):
        rows = signup_only_rows(db, pd.Timestamp(origin).to_pydatetime(),
                                horizon_days=data.horizon_days, labels=True)
        if len(rows):
            parts.append(rows)
    stacked = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    return TrainingData(windows=stacked, snapshot=None, horizon_days=data.horizon_days,
                        cutoff=data.cutoff)


class ColdStartModel(GBDTModel):
    """The GBDT family on cold rows only (see the module docstring). `fit` takes training
    windows holding any rows (the cold ones are selected); `predict` takes cold rows (a
    feature table's first-timers and/or `signup_only_rows`) and returns the predictions
    contract with model "cold_start"."""

    family = "cold_start"

    def fit(self, data: TrainingData) -> "ColdStartModel":
        windows = data.windows
        cold = windows[cold_start_kind(windows) != None]  # noqa: E711 (object array)
        if cold.empty:
            raise LTVError("no first-time customer or signup in any training window",
                           "cold-start profiles need customers with one purchase day (or a "
                           "signup only) before some training origin")
        super().fit(TrainingData(windows=cold_start_frame(cold), snapshot=None,
                                 horizon_days=data.horizon_days, cutoff=data.cutoff))
        return self

    @property
    def name(self) -> str:
        return self.alias or "cold_start"

    def predict(self, features: pd.DataFrame) -> pd.DataFrame:
        self._check_fitted()
        frame = fill_optional_columns(cold_start_frame(features), self.feature_names_)
        return super().predict(frame)
