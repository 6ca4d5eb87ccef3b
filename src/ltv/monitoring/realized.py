"""Realized accuracy: once a monitored snapshot's horizon has fully passed, how right was the
served model, overall and per group of customers (with the flags of `ltv.evaluation.slices`).

A snapshot at cutoff t is "matured" when t + horizon <= the end of the data (the midnight
after the last transaction): every day of [t, t + horizon) has been observed, so a customer
without a transaction there really spent nothing. Earlier than that the snapshot is
"pending" and says when it matures. The predictions are the ones the drift check already
made from the snapshot's features; the actual spend comes from the warehouse
(`ltv.evaluation.backtest.actual_spend`), lined up by customer_id.

Groups: every attr_* column of the snapshot that splits customers, plus whatever the
`segmenter` returns (the CLI passes RFM segment and LTV tier fitted on the snapshot itself:
features before t and the predictions made at t, no label).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from ltv.evaluation import metrics
from ltv.evaluation.backtest import actual_spend
from ltv.evaluation.report.inputs import ModelRows, group_labels, slice_columns, slice_metrics
from ltv.evaluation.slices import FlagRule, slice_records

# what a snapshot's overall row keeps of metrics.evaluate
OVERALL_KEYS = ("n", "mean_pred", "mean_actual", "gini", "spearman", "decile_mape",
                "top_decile_capture", "mae", "rmse", "bias", "auc", "coverage")


def matures_on(cutoff, horizon_days: int) -> pd.Timestamp:
    return pd.Timestamp(cutoff) + pd.Timedelta(days=int(horizon_days))


def pending(cutoff, horizon_days: int | None, end_of_data: pd.Timestamp) -> dict[str, Any]:
    """The realized entry of a snapshot whose horizon is not over (or with no horizon)."""
    out: dict[str, Any] = {"cutoff": str(pd.Timestamp(cutoff)), "status": "pending",
                           "horizon_days": horizon_days}
    if horizon_days is None:
        out["reason"] = ("the model's manifest records no horizon, so its predictions "
                         "cannot be scored")
        return out
    due = matures_on(cutoff, horizon_days)
    out.update(matures_on=str(due), days_left=int(np.ceil((due - end_of_data).days)),
               reason=f"the horizon ends {due.date()}, after the data ({end_of_data.date()})")
    return out


def realized_accuracy(db, cutoff, horizon_days: int | None, end_of_data: pd.Timestamp,
                      features: pd.DataFrame, predictions: pd.DataFrame, *,
                      segmenter: Callable | None = None,
                      rule: FlagRule | None = None) -> dict[str, Any]:
    """The realized accuracy of `predictions` (made from `features` at `cutoff`), or a
    pending entry when cutoff + horizon_days is after `end_of_data`.

    Matured: {"cutoff", "status": "matured", "horizon_days", "matures_on", "customers",
    "metrics" (OVERALL_KEYS of metrics.evaluate), "slices": {column: rows of
    slices.slice_records}, "flagged": [{"slice", "group", "reasons"}]}.
    """
    if horizon_days is None or matures_on(cutoff, horizon_days) > end_of_data:
        return pending(cutoff, horizon_days, end_of_data)
    actual = actual_spend(db, cutoff, horizon_days)
    actual.index = actual.index.astype(str)
    preds = predictions.assign(customer_id=predictions["customer_id"].astype(str))
    y = actual.reindex(preds["customer_id"]).to_numpy(dtype=float)
    keep = np.isfinite(y)
    preds = preds.loc[keep].reset_index(drop=True)
    y = y[keep]
    overall = metrics.evaluate(preds, y)
    rows = ModelRows(str(preds["model"].iloc[0]) if "model" in preds else "model", preds, y,
                     overall)
    slices, flagged = {}, []
    for column, groups in _dimensions(features, preds, segmenter):
        table = slice_metrics(rows, groups, rule=rule)
        slices[column] = slice_records(table.table)
        flagged += [{"slice": column, "group": g, "reasons": why} for g, why in table.flagged()]
    return {"cutoff": str(pd.Timestamp(cutoff)), "status": "matured",
            "horizon_days": int(horizon_days),
            "matures_on": str(matures_on(cutoff, horizon_days)),
            "customers": int(len(y)), "metrics": {k: overall[k] for k in OVERALL_KEYS},
            "slices": slices, "flagged": flagged}


def _dimensions(features: pd.DataFrame, preds: pd.DataFrame,
                segmenter: Callable | None) -> list[tuple[str, pd.Series]]:
    ids = preds["customer_id"]
    snapshot = features.assign(customer_id=features["customer_id"].astype(str))
    out = [(c, group_labels(snapshot, c, ids).rename(c)) for c in slice_columns(snapshot)]
    if segmenter is not None:
        groups = segmenter(snapshot, preds[["customer_id", "ltv"]])
        for column in [c for c in groups.columns if c != "customer_id"]:
            out.append((column, group_labels(groups, column, ids).rename(column)))
    return out


def summary(entry: dict[str, Any]) -> dict[str, Any]:
    """The compact form a history row carries: status, a few metrics, flagged groups."""
    out = {"status": entry["status"], "matures_on": entry.get("matures_on")}
    if entry["status"] == "matured":
        m = entry["metrics"]
        out.update(mae=m["mae"], bias=m["bias"], gini=m["gini"],
                   decile_mape=m["decile_mape"],
                   flagged=[f"{f['slice']}={f['group']}" for f in entry["flagged"]])
    return out
