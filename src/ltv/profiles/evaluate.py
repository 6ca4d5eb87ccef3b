"""Out-of-time evaluation of churn risk and cold start at a past cutoff.

Both fit on the training windows before `cutoff` (labels end by it) and score the customers
of the cutoff on what they did in [cutoff, cutoff + H), which must lie inside the data.

- `evaluate_churn`: Brier, AUC and expected calibration error of the churn model under each
  calibration method and set of calibration rows (see `churn`), of the LTV GBDT's own
  `1 - p_active`, and of the base-rate forecast
  (the churn rate of the latest training window, a constant known at the cutoff); plus the
  reliability table of each.
- `evaluate_cold_start`: the cold-start model against constant forecasts known at the
  cutoff (the mean label of the whole latest training window: "population mean"; of its
  cold rows: "first-timer mean") and against the general LTV GBDT, on the cold customers of
  the cutoff (all, and by kind), with the metrics of `ltv.evaluation.metrics`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ltv.features.build import build_features
from ltv.evaluation.metrics import evaluate
from ltv.models.gbdt import GBDTModel
from ltv.models.protocol import TrainingData
from ltv.models.training_data import build_training_data, fill_optional_columns, training_windows
from ltv.profiles.calibration import METHODS
from ltv.profiles.churn import CALIBRATION_ROWS, ChurnModel, churn_scores, reliability
from ltv.profiles.cold_start import (SIGNUP_ONLY, ColdStartModel, cold_start_kind,
                                     cold_start_training, signup_only_rows)

COLD_METRICS = ("n", "mean_pred", "mean_actual", "gini", "spearman", "top_decile_capture",
                "decile_mape", "mae", "rmse", "bias")


@dataclass
class ChurnEvaluation:
    scores: pd.DataFrame  # one row per forecast: n, churn_rate, mean_risk, brier, auc, ece
    reliability: dict[str, pd.DataFrame]  # forecast -> reliability table
    model: ChurnModel  # fitted with the first method


def labeled_cutoff(db, cutoff, horizon_days: int) -> pd.DataFrame:
    """Features at `cutoff` with labels over the horizon (the evaluation rows)."""
    return build_features(db, cutoff, horizon_days=horizon_days, labels=True)


def training_for(db, cutoff, horizon_days: int, training: dict | None) -> TrainingData:
    return build_training_data(db, cutoff, horizon_days,
                               **(training or training_windows(horizon_days)))


def evaluate_churn(db, cutoff, horizon_days: int, *, data: TrainingData | None = None,
                   labeled: pd.DataFrame | None = None, methods=METHODS,
                   gbdt: GBDTModel | None = None, training: dict | None = None,
                   bins: int = 10) -> ChurnEvaluation:
    """See the module docstring. `data` / `labeled` / `gbdt` reuse tables or a fitted LTV
    GBDT the caller already has (None: built or fitted here)."""
    data = data or training_for(db, cutoff, horizon_days, training)
    labeled = labeled if labeled is not None else labeled_cutoff(db, cutoff, horizon_days)
    churned = 1.0 - (labeled["label_active"].to_numpy(dtype=float) > 0)
    first = ChurnModel(calibration=methods[0]).fit(data)
    forecasts = {"base rate (latest training window)": np.full(len(labeled), first.base_rate_)}
    for rows in CALIBRATION_ROWS:
        fitted = first if rows == first.calibration_rows else \
            ChurnModel(calibration=methods[0], calibration_rows=rows).fit(data)
        for method in methods:
            if method == "none" and rows != first.calibration_rows:
                continue  # the raw scores do not depend on where a map would be fitted
            model = fitted if method == methods[0] else fitted.with_calibration(method)
            name = "churn model, raw" if method == "none" else \
                f"churn model, {method} on {rows}"
            forecasts[name] = model.predict(labeled)["churn_risk"].to_numpy()
    gbdt = gbdt or GBDTModel().fit(data)
    p_active = gbdt.predict(fill_optional_columns(labeled, gbdt.feature_names_))["p_active"]
    forecasts["LTV GBDT 1 - p_active"] = 1.0 - p_active.to_numpy()
    rows, tables = [], {}
    for name, risk in forecasts.items():
        rows.append({"forecast": name, **churn_scores(churned, risk)})
        tables[name] = reliability(churned, risk, bins)[0]
    return ChurnEvaluation(pd.DataFrame(rows).set_index("forecast"), tables, first)


def evaluate_cold_start(db, cutoff, horizon_days: int, *, data: TrainingData | None = None,
                        labeled: pd.DataFrame | None = None, gbdt: GBDTModel | None = None,
                        training: dict | None = None) -> pd.DataFrame:
    """One row per (slice, predictor) with COLD_METRICS; slices: "all cold", and each kind
    ("first_purchase", "signup_only") when both are present."""
    data = data or training_for(db, cutoff, horizon_days, training)
    labeled = labeled if labeled is not None else labeled_cutoff(db, cutoff, horizon_days)
    cold = labeled[cold_start_kind(labeled) != None]  # noqa: E711 (object array)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        signups = signup_only_rows(db, cutoff, horizon_days=horizon_days, labels=True)
    rows = pd.concat([cold, signups], ignore_index=True) if len(signups) else \
        cold.reset_index(drop=True)
    model = ColdStartModel().fit(cold_start_training(db, data))
    latest = data.latest_window
    latest_cold = latest[cold_start_kind(latest) != None]  # noqa: E711
    n = len(rows)
    preds = {"cold-start model": model.predict(rows)["ltv"].to_numpy(),
             "population mean": np.full(n, latest["label_spend"].mean()),
             "first-timer mean": np.full(n, latest_cold["label_spend"].mean())}
    gbdt = gbdt or GBDTModel().fit(data)
    general = np.full(n, np.nan)
    has_features = rows.index < len(cold)
    if has_features.any():
        general[has_features] = gbdt.predict(fill_optional_columns(
            rows[has_features], gbdt.feature_names_))["ltv"].to_numpy()
    preds["LTV GBDT (all customers)"] = general
    kind = cold_start_kind(rows)
    slices = {"all cold": np.ones(n, bool)}
    kinds = list(dict.fromkeys(kind))
    if len(kinds) > 1:  # with one kind its slice would repeat "all cold"
        for k in kinds:
            slices[k] = kind == k
    actual = rows["label_spend"].to_numpy(dtype=float)
    out = []
    for slice_name, mask in slices.items():
        for name, pred in preds.items():
            keep = mask & np.isfinite(pred)
            if not keep.any() or (name.startswith("LTV GBDT") and slice_name == "all cold"
                                  and (kind == SIGNUP_ONLY).any()):
                continue  # the general model has no row for signups
            scores = evaluate(pd.DataFrame({"ltv": pred[keep]}), actual[keep])
            out.append({"slice": slice_name, "predictor": name,
                        **{m: scores[m] for m in COLD_METRICS}})
    return pd.DataFrame(out)
