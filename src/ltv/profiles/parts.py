"""The parts of a profile. Each adds columns for the customers of the profile's base.

A part is any object with a `name` and `build(ctx, profile) -> DataFrame`: it reads what it
needs from the `ProfileContext` (warehouse, cutoff, horizon, features, training windows, the
models and rules the caller passed) and from the columns earlier parts added to `profile`,
and returns `customer_id` plus its columns for some or all of the base's customers (see
`build.merge_part` for how the columns are merged). A part that fits something records it in
`ctx.info[name]` (JSON-ready), which ends up in the profile's attrs.

The default parts, in order (`DEFAULT_PARTS`):
  LTVPart        ltv, ltv_lo, ltv_hi, p_active, ltv_model
  ColdStartPart  cold_start, cold_start_kind, cold_start_ltv; and, for signup-only customers
                 (who have no feature row for the LTV and churn models), ltv, ltv_lo, ltv_hi,
                 p_active and churn_risk = 1 - p_active from the cold-start model
  ChurnPart      churn_risk (calibrated P(no purchase in the horizon)), churn_raw
  SegmentsPart   recency_days, frequency, monetary, r_score, f_score, m_score, rfm_segment,
                 ltv_tier
  InterestsPart  top_interests, interest_<slug> per category (see `interest_part`)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ltv.errors import SchemaError
from ltv.models.gbdt import GBDTModel
from ltv.models.training_data import fill_optional_columns
from ltv.profiles.churn import ChurnModel
from ltv.profiles.cold_start import (SIGNUP_ONLY, ColdStartModel, cold_start_kind,
                                     cold_start_training)
from ltv.profiles.interest_part import InterestsPart
from ltv.profiles.segments import PROSPECT, SegmentRules


class LTVPart:
    """Predicted LTV over the horizon. Source, in order of preference: the caller's
    predictions frame, the caller's fitted model, else a GBDT (LightGBM tweedie, the `gbdt`
    family's defaults) fitted on the training windows before the cutoff."""

    name = "ltv"

    def build(self, ctx, profile: pd.DataFrame) -> pd.DataFrame:
        if ctx.predictions is not None:
            preds = _check_predictions(ctx.predictions)
            source = "given predictions"
        else:
            model = ctx.ltv_model
            if model is None:
                model = GBDTModel().fit(ctx.training)
                source = "gbdt fitted on the windows before the cutoff"
            else:
                source = f"given model {model.name}"
            features = ctx.features
            preds = model.predict(fill_optional_columns(features, model.feature_names_))
        ctx.info[self.name] = {"source": source}
        out = preds[[c for c in ("customer_id", "ltv", "ltv_lo", "ltv_hi", "p_active")
                     if c in preds.columns]].copy()
        out["ltv_model"] = preds["model"].astype(str) if "model" in preds else "given"
        return out


class ColdStartPart:
    """The cold-start model's prediction for first-time customers and signups (see
    `cold_start`); fitted on the cold rows of the training windows unless given."""

    name = "cold_start"

    def build(self, ctx, profile: pd.DataFrame) -> pd.DataFrame:
        features, signups = ctx.features, ctx.signups
        cold = features[cold_start_kind(features) != None]  # noqa: E711 (object array)
        rows = pd.concat([cold, signups], ignore_index=True) if len(signups) else cold
        model = ctx.cold_start_model
        if model is None and len(rows):
            model = ColdStartModel().fit(cold_start_training(ctx.db, ctx.training))
        kind = cold_start_kind(rows)
        out = pd.DataFrame({"customer_id": rows["customer_id"].astype(str).to_numpy(),
                            "cold_start": True, "cold_start_kind": kind})
        if len(rows):
            preds = model.predict(rows)
            out["cold_start_ltv"] = preds["ltv"].to_numpy()
            signup = kind == SIGNUP_ONLY
            for col in ("ltv", "ltv_lo", "ltv_hi", "p_active"):
                out[col] = np.where(signup, preds[col].to_numpy(), np.nan)
            out["churn_risk"] = np.where(signup, 1.0 - preds["p_active"].to_numpy(), np.nan)
            out["ltv_model"] = np.where(signup, model.name, None)
        else:
            out["cold_start_ltv"] = np.empty(0)
        ctx.info[self.name] = {"first_purchase": int((kind != SIGNUP_ONLY).sum()),
                               "signup_only": int((kind == SIGNUP_ONLY).sum())}
        # Everyone else is not cold: say so explicitly rather than leave a missing value.
        rest = profile.loc[~profile["customer_id"].isin(out["customer_id"]), ["customer_id"]]
        return pd.concat([out, rest.assign(cold_start=False)], ignore_index=True)


class ChurnPart:
    """Calibrated churn risk for every customer with a feature row (see `churn`)."""

    name = "churn"

    def build(self, ctx, profile: pd.DataFrame) -> pd.DataFrame:
        model = ctx.churn_model
        if model is None:
            model = ChurnModel().fit(ctx.training)
            ctx.info[self.name] = {"calibration": model.calibration,
                                   "base_rate": model.base_rate_, **model.calibration_}
        return model.predict(ctx.features)


class SegmentsPart:
    """RFM scores and segments, LTV tiers (see `segments`). The rules are the caller's, or
    fitted on this profile's customers with a purchase (their JSON is in the attrs)."""

    name = "segments"

    def build(self, ctx, profile: pd.DataFrame) -> pd.DataFrame:
        features = ctx.features
        ltv = profile.set_index("customer_id")["ltv"] if "ltv" in profile else None
        own_ltv = None if ltv is None else \
            ltv.reindex(features["customer_id"].astype(str)).to_numpy(dtype=float)
        rules = ctx.rules
        if rules is None:
            has = None if own_ltv is None else np.isfinite(own_ltv)
            rules = SegmentRules().fit(features if has is None else features[has],
                                       None if has is None else own_ltv[has],
                                       cutoff=ctx.cutoff)
        out = rules.assign(features, own_ltv if rules.ltv_thresholds is not None else None)
        ctx.info[self.name] = {"rules": rules.to_dict()}
        signups = ctx.signups
        if len(signups):
            extra = pd.DataFrame({"customer_id": signups["customer_id"].astype(str),
                                  "rfm_segment": PROSPECT})
            if ltv is not None and rules.ltv_thresholds is not None:
                extra["ltv_tier"] = rules.tiers(ltv.reindex(extra["customer_id"]).to_numpy())
            out = pd.concat([out, extra], ignore_index=True)
        return out


DEFAULT_PARTS = (LTVPart(), ColdStartPart(), ChurnPart(), SegmentsPart(), InterestsPart())


def _check_predictions(preds: pd.DataFrame) -> pd.DataFrame:
    for col in ("customer_id", "ltv"):
        if col not in preds.columns:
            raise SchemaError("column missing from the predictions",
                              "pass the predictions contract (customer_id, model, ltv, ...)",
                              table="predictions", column=col)
    preds = preds.assign(customer_id=preds["customer_id"].astype(str))
    if preds["customer_id"].duplicated().any():
        dup = preds.loc[preds["customer_id"].duplicated(), "customer_id"].iloc[0]
        raise SchemaError(f"customer {dup!r} appears more than once",
                          "pass one model's predictions (filter on the `model` column)",
                          table="predictions", column="customer_id")
    return preds
