"""RFM scores, named RFM segments and LTV tiers, by rules frozen on a reference population.

The inputs, per customer as of the cutoff (columns of `ltv.features.build_features`):
- R, `recency_days`: days since the last purchase (`days_since_last`); fewer is better;
- F, `frequency`: purchase days in the whole history (BTYD `frequency` + 1; a day with
  several orders counts once, so a shop's batch of same-day invoices is one visit);
- M, `monetary`: net spend over the whole history (`spend_total`, currency units).

Scores. `SegmentRules.fit` stores the 20/40/60/80% quantiles of R, F and M over a reference
population (the cut points). A customer's score is then
  F, M:  1 + (number of cut points strictly below the value)      higher value, higher score
  R:     5 - (number of cut points strictly below the value)      fewer days, higher score
so a score depends only on the customer's own value and the frozen cut points: it does not
move when other customers come or go. With many tied values (most customers buy once) some
cut points coincide and some scores stay empty (e.g. F has no 2); that is the rule working,
not a bug: two customers with the same value always get the same score.

Named segments: the classic R x F grid (R score across, F score down), with "lost" split
from "hibernating" for the oldest recency quintile:

    F\\R     1            2            3               4                    5
    5     cant_lose    cant_lose    loyal           loyal                champions
    4     at_risk      at_risk      loyal           loyal                champions
    3     at_risk      at_risk      need_attention  potential_loyalist   potential_loyalist
    2     lost         hibernating  about_to_sleep  potential_loyalist   potential_loyalist
    1     lost         hibernating  about_to_sleep  promising            new

Customers with no purchase before the cutoff (a signup only) have no RFM scores and the
segment "prospect".

LTV tiers, from the predicted LTV over the horizon: thresholds at the 99th, 90th and 50th
percentiles of the reference population's predictions, frozen like the RFM cut points:
  platinum  ltv >= q99  (the top 1% at fit time)
  gold      q90 <= ltv < q99  (the next 9%)
  silver    q50 <= ltv < q90  (the next 40%)
  bronze    below q50  (the rest)
A customer without an LTV prediction gets no tier (None).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ltv.errors import LTVError, SchemaError
from ltv.models.persistence import atomic_write_json

RFM_QUANTILES = (0.2, 0.4, 0.6, 0.8)
LTV_TIERS = (("platinum", 0.99), ("gold", 0.90), ("silver", 0.50))  # name, lower quantile
LOWEST_TIER = "bronze"
PROSPECT = "prospect"
FORMAT = "ltv-segment-rules/1"
# The grid above, GRID[f - 1][r - 1].
GRID = (
    ("lost", "hibernating", "about_to_sleep", "promising", "new"),
    ("lost", "hibernating", "about_to_sleep", "potential_loyalist", "potential_loyalist"),
    ("at_risk", "at_risk", "need_attention", "potential_loyalist", "potential_loyalist"),
    ("at_risk", "at_risk", "loyal", "loyal", "champions"),
    ("cant_lose", "cant_lose", "loyal", "loyal", "champions"),
)
SEGMENTS = tuple(dict.fromkeys(name for row in GRID for name in row)) + (PROSPECT,)


def rfm_values(features: pd.DataFrame) -> pd.DataFrame:
    """customer_id, recency_days, frequency, monetary from a feature table (see module doc)."""
    need = ["customer_id", "days_since_last", "frequency", "spend_total"]
    missing = [c for c in need if c not in features.columns]
    if missing:
        raise SchemaError("column missing for RFM", "pass the table built by "
                          "ltv.features.build_features", table="features", column=missing[0])
    return pd.DataFrame({
        "customer_id": features["customer_id"].astype(str).to_numpy(),
        "recency_days": features["days_since_last"].to_numpy(dtype=float),
        "frequency": features["frequency"].to_numpy(dtype=float) + 1.0,
        "monetary": features["spend_total"].to_numpy(dtype=float),
    })


def segment_name(r_score: int, f_score: int) -> str:
    """The grid's name for scores 1..5 (see the module docstring)."""
    if not (1 <= r_score <= 5 and 1 <= f_score <= 5):
        raise LTVError(f"RFM scores ({r_score}, {f_score}) are outside 1..5",
                       "scores come from SegmentRules.assign")
    return GRID[f_score - 1][r_score - 1]


@dataclass
class SegmentRules:
    """Frozen cut points: `cuts[name]` are the RFM_QUANTILES of R, F, M; `ltv_thresholds` the
    q99, q90, q50 of predicted LTV (None when fitted without LTV)."""

    cuts: dict[str, list[float]] | None = None
    ltv_thresholds: list[float] | None = None
    reference: dict | None = None  # where the cut points came from: cutoff, customers

    def fit(self, features: pd.DataFrame, ltv=None, *, cutoff=None) -> "SegmentRules":
        """Freeze the cut points on a reference population: a feature table (rows without a
        purchase are left out of the RFM cut points) and optionally its predicted LTV (one
        finite value per row, all rows used)."""
        values = rfm_values(features)
        pred = None if ltv is None else _ltv_array(ltv, len(values))
        # Customers without a purchase (returns only) have no recency: they get no score,
        # so they do not shape the cut points either.
        known = np.isfinite(values[["recency_days", "frequency", "monetary"]].to_numpy()).all(1)
        values = values[known]
        if values.empty:
            raise LTVError("segment rules need a reference population with purchases, got "
                           "no such customer", "fit on the feature table of a cutoff with "
                           "purchases before it")
        cuts = {col: [float(v) for v in np.quantile(values[col].to_numpy(), RFM_QUANTILES)]
                for col in ("recency_days", "frequency", "monetary")}
        thresholds = None
        if pred is not None:
            thresholds = [float(np.quantile(pred, q)) for _, q in LTV_TIERS]
        self.cuts, self.ltv_thresholds = cuts, thresholds
        self.reference = {"customers": int(len(values)),  # with a purchase
                          "cutoff": None if cutoff is None else str(pd.Timestamp(cutoff)),
                          "fitted_at": dt.datetime.now(dt.timezone.utc).isoformat()}
        return self

    def assign(self, features: pd.DataFrame, ltv=None) -> pd.DataFrame:
        """customer_id, recency_days, frequency, monetary, r_score, f_score, m_score (1..5),
        rfm_segment, and ltv_tier (when `ltv` is given: one value per row, NaN = no tier)."""
        self._check_fitted()
        values = rfm_values(features)
        out = values.copy()
        r = 5 - _count_below(values["recency_days"], self.cuts["recency_days"])
        f = 1 + _count_below(values["frequency"], self.cuts["frequency"])
        m = 1 + _count_below(values["monetary"], self.cuts["monetary"])
        # A history of returns only has no last purchase: no scores, no segment.
        known = np.isfinite(values[["recency_days", "frequency", "monetary"]].to_numpy()).all(1)
        for name, score in (("r_score", r), ("f_score", f), ("m_score", m)):
            out[name] = pd.array(np.where(known, score, 0), dtype="Int64")
            out.loc[~known, name] = pd.NA
        segment = np.asarray(GRID, dtype=object)[f - 1, r - 1]
        segment[~known] = None
        out["rfm_segment"] = segment
        if ltv is not None:
            out["ltv_tier"] = self.tiers(ltv)
        return out

    def tiers(self, ltv) -> np.ndarray:
        """The LTV tier name per value (None where the value is NaN)."""
        self._check_fitted()
        if self.ltv_thresholds is None:
            raise LTVError("these segment rules were fitted without LTV predictions",
                           "fit them with SegmentRules().fit(features, ltv=predictions)")
        pred = np.asarray(ltv, dtype=float)
        out = np.full(pred.shape, LOWEST_TIER, dtype=object)
        # Lowest threshold first, so each higher tier overwrites the ones below it.
        for (name, _), threshold in reversed(list(zip(LTV_TIERS, self.ltv_thresholds))):
            out[pred >= threshold] = name
        out[np.isnan(pred)] = None
        return out

    # ---- persistence ----------------------------------------------------------------------
    def to_dict(self) -> dict:
        self._check_fitted()
        return {"format": FORMAT, "quantiles": list(RFM_QUANTILES), "cuts": self.cuts,
                "ltv_tiers": [[name, q] for name, q in LTV_TIERS],
                "ltv_thresholds": self.ltv_thresholds, "reference": self.reference}

    def save(self, path: str | Path) -> None:
        """Write the rules as JSON, atomically."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: str | Path) -> "SegmentRules":
        """Read rules written by `save`."""
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise LTVError(f"cannot read segment rules from {path}: {err}",
                           "pass a file written by SegmentRules.save (ltv profile "
                           "--rules-out)") from None
        return cls.from_dict(data, where=str(path))

    @classmethod
    def from_dict(cls, data: dict, where: str = "the rules") -> "SegmentRules":
        """Inverse of `to_dict` (e.g. from a profile's attrs["profile"]["segments"]["rules"])."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise LTVError(f"{where} is not a segment rules file (format "
                           f"{data.get('format') if isinstance(data, dict) else None!r})",
                           "pass a file written by SegmentRules.save (ltv profile --rules-out)")
        if data.get("quantiles") != list(RFM_QUANTILES) or \
                [n for n, _ in data.get("ltv_tiers", [])] != [n for n, _ in LTV_TIERS]:
            raise LTVError(f"{where} was written with other quantiles or tiers",
                           "fit the rules again with this version of ltv")
        try:
            cuts = {k: [float(v) for v in data["cuts"][k]]
                    for k in ("recency_days", "frequency", "monetary")}
        except (KeyError, TypeError, ValueError):
            raise LTVError(f"{where}: the cut points are missing or not numbers",
                           "fit and save the rules again") from None
        thresholds = data.get("ltv_thresholds")
        return cls(cuts=cuts, ltv_thresholds=None if thresholds is None else
                   [float(v) for v in thresholds], reference=data.get("reference"))

    def _check_fitted(self) -> None:
        if self.cuts is None:
            raise LTVError("the segment rules are not fitted",
                           "call SegmentRules().fit(features) or SegmentRules.load(path)")


def _count_below(values: pd.Series, cuts: list[float]) -> np.ndarray:
    """Per value, how many cut points lie strictly below it (0..len(cuts))."""
    return np.searchsorted(np.asarray(cuts, dtype=float), values.to_numpy(dtype=float),
                           side="left").astype(int)


def _ltv_array(ltv, n: int) -> np.ndarray:
    pred = np.asarray(ltv, dtype=float)
    if pred.shape != (n,):
        raise LTVError(f"ltv has {pred.size} values for {n} customers",
                       "pass one predicted LTV per feature row, in the same order")
    if not np.isfinite(pred).all():
        raise LTVError("ltv holds a non-finite value", "fit the rules on customers that "
                       "have a prediction (drop the NaN rows first)")
    return pred
