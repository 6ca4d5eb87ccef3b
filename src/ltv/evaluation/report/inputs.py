"""What the report is computed from: predictions lined up with the actual spend, per model.

Everything here is plain pandas/numpy (no HTML, no plotting), so the numbers the report
shows are the numbers `ltv.evaluation.metrics` gives on the same rows:
`metrics.evaluate(model_rows, actual.reindex(model_rows.customer_id))`, exactly as
`run_backtest` scores a model.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ltv.errors import LTVError
from ltv.evaluation import metrics
from ltv.evaluation.slices import FlagRule, sliced

MISSING_GROUP = "(missing)"
OTHER_GROUP = "other"
MAX_GROUPS = 15  # rows of the slice table, "other" included
NUMERIC_BINS = 5  # a numeric attribute with many values is sliced into quintiles


@dataclass
class ModelRows:
    """One model's predictions (index 0..n-1) and the actual spend of the same customers."""

    name: str
    predictions: pd.DataFrame
    actual: np.ndarray
    metrics: dict[str, float]

    @property
    def active(self) -> np.ndarray:
        return (self.actual > 0).astype(float)

    @property
    def has_p_active(self) -> bool:
        return "p_active" in self.predictions.columns


@dataclass
class ReportInputs:
    models: list[ModelRows]
    n_customers: int
    total_actual: float
    unlabeled: int = 0  # predicted customers with no actual value, left out
    notes: list[str] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return [m.name for m in self.models]

    def best(self) -> ModelRows:
        """The model with the highest Gini (then Spearman); the first one when all are nan."""
        def key(m: ModelRows) -> tuple[float, float]:
            g, s = m.metrics.get("gini", np.nan), m.metrics.get("spearman", np.nan)
            return (-np.inf if np.isnan(g) else g, -np.inf if np.isnan(s) else s)

        return max(self.models, key=key)


def _str_index(series: pd.Series) -> pd.Series:
    out = series.copy()
    out.index = out.index.astype(str)
    return out[~out.index.duplicated(keep="first")]


def prepare(predictions: pd.DataFrame, actual: pd.Series | None) -> ReportInputs:
    """Split the predictions by model and line each model's rows up with `actual`.

    Customers without an actual value (not in `actual`, or NaN there) are left out and
    counted; a `p_active` column with any non-finite value is dropped for that model (its
    AUC and Brier become nan) rather than failing the whole report.
    """
    if actual is None:
        raise LTVError("the backtest has no actual spend after the cutoff, so there is "
                       "nothing to score",
                       "pick a cutoff at least one horizon before the end of the data")
    missing = {"customer_id", "model", "ltv"} - set(predictions.columns)
    if missing:
        raise LTVError(f"predictions: missing column(s) {', '.join(sorted(missing))}",
                       "pass the predictions table (customer_id, model, ltv, ltv_lo, "
                       "ltv_hi, p_active)")
    if predictions.empty:
        raise LTVError("predictions: no rows", "score at least one customer")
    labels = _str_index(actual.astype(float))
    rows, unlabeled, notes = [], 0, []
    for name, group in predictions.groupby("model", sort=False):
        y = labels.reindex(group["customer_id"].astype(str)).to_numpy(dtype=float)
        keep = np.isfinite(y)
        unlabeled = max(unlabeled, int((~keep).sum()))
        frame = group.loc[keep].reset_index(drop=True)
        if frame.empty:
            notes.append(f"model {name}: none of its customers has an actual value; left out")
            continue
        if "p_active" in frame.columns and not np.isfinite(
                frame["p_active"].to_numpy(dtype=float, na_value=np.nan)).all():
            frame = frame.drop(columns="p_active")
            notes.append(f"model {name}: p_active has missing values, so AUC, Brier and "
                         "calibration are not shown for it")
        y = y[keep]
        rows.append(ModelRows(str(name), frame, y, metrics.evaluate(frame, y)))
    if not rows:
        raise LTVError("no predicted customer has an actual value",
                       "pass actual spend indexed by the same customer_id as the predictions")
    first = rows[0]
    return ReportInputs(rows, n_customers=len(first.actual), total_actual=float(first.actual.sum()),
                        unlabeled=unlabeled, notes=notes)


# ---------------------------------------------------------------- slicing


def slice_columns(snapshot: pd.DataFrame | None) -> list[str]:
    """The attr_* columns that split customers at all (two or more known values).

    An attribute the source never filled (all missing) or that is the same for everyone
    would give a one-row table, so it is left out.
    """
    if snapshot is None:
        return []
    return [str(c) for c in snapshot.columns
            if str(c).startswith("attr_") and snapshot[c].nunique(dropna=True) >= 2]


def group_labels(snapshot: pd.DataFrame, column: str, customer_ids: pd.Series) -> pd.Series:
    """The attribute's value for each customer (as text), "(missing)" where there is none.

    A numeric attribute with more distinct values than the table has rows is cut into
    quintiles (labelled with their ranges) so the groups stay few and comparable in size.
    """
    unique = snapshot.drop_duplicates("customer_id")
    values = unique[column].set_axis(unique["customer_id"].astype(str))
    values = values.reindex(customer_ids.astype(str))
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values) \
            and values.nunique() > MAX_GROUPS:
        codes, edges = pd.qcut(values, NUMERIC_BINS, labels=False, retbins=True,
                               duplicates="drop")
        names = [f"{lo:,.4g} to {hi:,.4g}" for lo, hi in zip(edges[:-1], edges[1:])]
        labels = [MISSING_GROUP if np.isnan(c) else names[int(c)] for c in codes.to_numpy(float)]
        return pd.Series(labels, index=customer_ids.index, dtype=object)
    labels = values.astype(object).where(values.notna(), MISSING_GROUP).astype(str)
    return pd.Series(labels.to_numpy(), index=customer_ids.index)


@dataclass
class SliceTable:
    column: str
    model: str
    table: pd.DataFrame  # slices.sliced columns + share; top groups by size, then "other"
    overall: dict[str, float]
    n_groups: int
    folded: int  # groups folded into "other"
    folded_flagged: list[str]  # flagged groups (on their own) hidden inside "other"

    def flagged(self) -> list[tuple[str, str]]:
        """(group, reasons) of every flagged group, those pooled into "other" included."""
        shown = [(str(g), str(r["reasons"])) for g, r in self.table.iterrows() if r["flagged"]]
        return shown + [(g, "") for g in self.folded_flagged]


def slice_metrics(rows: ModelRows, groups: pd.Series, *, max_groups: int = MAX_GROUPS,
                  rule: FlagRule | None = None) -> SliceTable:
    """slices.sliced for one model, biggest groups first, the smallest folded into "other"."""
    preds, y = rows.predictions, rows.actual
    labels = groups.to_numpy(dtype=object)
    full = sliced(preds, y, labels, rule=rule)
    sizes = full["n"].sort_values(ascending=False, kind="stable")
    if len(sizes) > max_groups:
        top = list(sizes.index[: max_groups - 1])
        folded = [g for g in sizes.index if g not in set(top)]
        other = f"{OTHER_GROUP} ({len(folded)} groups)"
        collapsed = np.where(np.isin(labels, top), labels, other)
        table = sliced(preds, y, collapsed, rule=rule)
        # the pool is no group anyone could act on: its own flag would only say that small
        # groups are noisy; the groups flagged on their own are listed instead
        table.loc[other, ["flagged", "flag_error", "flag_bias", "flag_decile"]] = False
        table.loc[other, "reasons"] = ""
        table = table.loc[top + [other]]
        folded_flagged = [str(g) for g in folded if bool(full.loc[g, "flagged"])]
    else:
        table, folded, folded_flagged = full.loc[list(sizes.index)], [], []
    table = table.copy()
    table["share"] = table["n"] / len(y)
    return SliceTable(column=str(groups.name or ""), model=rows.name, table=table,
                      overall=rows.metrics, n_groups=len(full), folded=len(folded),
                      folded_flagged=folded_flagged)
