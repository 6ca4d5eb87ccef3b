"""`build_profiles`: one profile row per customer known before a cutoff, assembled from parts.

The base: every customer with a transaction line before the cutoff (the rows of
`build_features`) plus every customer with only a signup before it (`signup_only_rows`);
columns customer_id, cutoff, horizon_days, has_purchase. Each part (`parts`; the default
list is `DEFAULT_PARTS`) then adds its columns, in order, by `merge_part`. To add a part
(e.g. category interests), pass `parts=(*DEFAULT_PARTS, MyPart())`.

What is fitted, and on what. Every model that the caller does not pass is fitted on the
stacked training windows before the cutoff (`ltv.models.training_data`, stride and count
from `training_windows(horizon_days)` unless `training=` says otherwise): nothing at or after
the cutoff is read, so a profile at a past cutoff can be scored against what happened next.
Segment rules that the caller does not pass are fitted on this profile's own population
(their JSON, with the other parts' notes, is in `frame.attrs["profile"]`; save them with
`SegmentRules.from_dict(...)`, or `ltv profile --rules-out`, and pass them back next time so
that segments stay comparable between runs).
"""

from __future__ import annotations

import datetime as dt
import os
import warnings
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pandas as pd

from ltv.errors import LTVError, SchemaError
from ltv.features.build import build_features
from ltv.features.params import parse_cutoff
from ltv.models.protocol import LTVModel, TrainingData
from ltv.models.training_data import build_training_data, training_windows
from ltv.profiles.churn import ChurnModel
from ltv.profiles.cold_start import ColdStartModel, signup_only_rows
from ltv.profiles.parts import DEFAULT_PARTS
from ltv.profiles.segments import SegmentRules

BASE_COLUMNS = ("customer_id", "cutoff", "horizon_days", "has_purchase")


@dataclass
class ProfileContext:
    """What parts share: inputs, lazily built tables, caller-given models, notes (`info`)."""

    db: object
    cutoff: dt.datetime
    horizon_days: int
    training_options: dict
    ltv_model: LTVModel | None = None
    predictions: pd.DataFrame | None = None
    churn_model: ChurnModel | None = None
    cold_start_model: ColdStartModel | None = None
    rules: SegmentRules | None = None
    info: dict = field(default_factory=dict)

    @cached_property
    def training(self) -> TrainingData:
        """Labeled windows before the cutoff (labels end by it) and the snapshot at it."""
        return build_training_data(self.db, self.cutoff, self.horizon_days,
                                   **self.training_options)

    @cached_property
    def features(self) -> pd.DataFrame:
        """Features at the cutoff (no labels), one row per customer with a line before it.
        Taken from the training data's snapshot when that is built anyway."""
        if "training" in self.__dict__ or self._needs_training:
            return self.training.snapshot.reset_index(drop=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # an empty history is reported by the base
            return build_features(self.db, self.cutoff)

    @cached_property
    def signups(self) -> pd.DataFrame:
        return signup_only_rows(self.db, self.cutoff)

    @property
    def _needs_training(self) -> bool:
        return (self.ltv_model is None and self.predictions is None) or \
            self.churn_model is None or self.cold_start_model is None


def build_profiles(db, cutoff, horizon_days: int = 90, *, parts=DEFAULT_PARTS,
                   ltv_model: LTVModel | None = None, predictions: pd.DataFrame | None = None,
                   churn_model: ChurnModel | None = None,
                   cold_start_model: ColdStartModel | None = None,
                   rules: SegmentRules | None = None,
                   training: dict | None = None) -> pd.DataFrame:
    """Profiles as of `cutoff` (exclusive, UTC) for a horizon of `horizon_days` days.

    db: the warehouse (path or open DuckDB connection). ltv_model / predictions: a fitted
    LTV model, or its predictions at this cutoff (customer_id, ltv[, ltv_lo, ltv_hi,
    p_active, model]); neither: a GBDT is fitted. churn_model, cold_start_model, rules:
    fitted ones to reuse; None: fitted here. training: options of `build_training_data`
    (default `training_windows(horizon_days)`).

    Returns one row per customer, sorted by customer_id: the base columns (see the module
    docstring) then each part's columns; money in currency units over the horizon,
    probabilities in [0, 1]. `frame.attrs["profile"]` holds the cutoff, horizon, each part's
    notes and the segment rules, as JSON-ready values (pandas writes them into Parquet).
    """
    if isinstance(horizon_days, bool) or not isinstance(horizon_days, int) or horizon_days < 1:
        raise LTVError(f"horizon_days={horizon_days!r} is not a positive whole number of days",
                       "pass e.g. horizon_days=90")
    names = [getattr(p, "name", None) for p in parts]
    if any(not isinstance(n, str) or not hasattr(p, "build") for n, p in zip(names, parts)):
        raise LTVError("every profile part needs a `name` and a `build(ctx, profile)` method",
                       "see ltv.profiles.parts for the protocol")
    if len(set(names)) != len(names):
        raise LTVError(f"two profile parts share a name: {names}", "give each part its own name")
    ctx = ProfileContext(db=db, cutoff=parse_cutoff(cutoff), horizon_days=horizon_days,
                         training_options=training or training_windows(horizon_days),
                         ltv_model=ltv_model, predictions=predictions,
                         churn_model=churn_model, cold_start_model=cold_start_model,
                         rules=rules)
    for what, model in (("the LTV model", ltv_model), ("the churn model", churn_model),
                        ("the cold-start model", cold_start_model)):
        check_horizon(what, model, horizon_days)  # before any feature is built
    profile = _base(ctx)
    if profile.empty:
        raise LTVError(f"no customer has a transaction or a signup before {ctx.cutoff}",
                       "choose a later cutoff, or ingest data first (`ltv ingest`)")
    for part in parts:
        profile = merge_part(profile, part.build(ctx, profile), part.name)
    profile = profile.sort_values("customer_id", kind="stable").reset_index(drop=True)
    profile.attrs["profile"] = {"cutoff": str(ctx.cutoff), "horizon_days": horizon_days,
                                "parts": names, **ctx.info}
    return profile


def check_horizon(what: str, model, horizon_days: int) -> None:
    """A given model must predict over the profile's horizon (models without a recorded
    horizon are taken at their word)."""
    trained = getattr(model, "horizon_days_", None)
    if trained is not None and int(trained) != int(horizon_days):
        raise LTVError(f"{what} predicts over {trained} days, but the profile's horizon is "
                       f"{horizon_days} days", f"pass --horizon {trained} (horizon_days="
                       f"{trained}), or fit the model for {horizon_days} days")


def _base(ctx: ProfileContext) -> pd.DataFrame:
    ids = ctx.features["customer_id"].astype(str)
    signup_ids = ctx.signups["customer_id"].astype(str)
    base = pd.DataFrame({"customer_id": pd.concat([ids, signup_ids], ignore_index=True)})
    base["cutoff"] = pd.Timestamp(ctx.cutoff)
    base["horizon_days"] = ctx.horizon_days
    base["has_purchase"] = base["customer_id"].isin(set(ids))
    return base


def merge_part(profile: pd.DataFrame, part: pd.DataFrame, name: str) -> pd.DataFrame:
    """Left-join a part's columns onto the profile by customer_id.

    A new column is added (NaN/None for customers the part has no row for). A column that an
    earlier part already made is only filled where it is still missing: a part never
    overwrites another's value, so the order of parts decides who wins. A part may not
    return a customer twice, nor one outside the profile's base, nor a base column.
    """
    if "customer_id" not in part.columns:
        raise SchemaError(f"profile part '{name}' returned no customer_id column",
                          "return customer_id plus the part's columns", column="customer_id")
    part = part.assign(customer_id=part["customer_id"].astype(str))
    if part["customer_id"].duplicated().any():
        raise LTVError(f"profile part '{name}' returned customer "
                       f"{part.loc[part['customer_id'].duplicated(), 'customer_id'].iloc[0]!r} "
                       "twice", "return at most one row per customer")
    unknown = ~part["customer_id"].isin(profile["customer_id"])
    if unknown.any():
        raise LTVError(f"profile part '{name}' returned customer "
                       f"{part.loc[unknown, 'customer_id'].iloc[0]!r}, who is not in the "
                       "profile's base", "return rows only for customers in `profile`")
    clash = [c for c in part.columns if c in BASE_COLUMNS and c != "customer_id"]
    if clash:
        raise LTVError(f"profile part '{name}' returned the base column '{clash[0]}'",
                       "rename the part's column")
    aligned = part.set_index("customer_id").reindex(profile["customer_id"])
    out = profile.copy()
    for col in aligned.columns:
        values = pd.Series(aligned[col].array, index=out.index)  # keeps nullable dtypes
        out[col] = out[col].where(out[col].notna(), values) if col in out.columns else values
    return out


def check_out_path(out: str | Path) -> Path:
    """The output path, refused early (before any model is fitted) unless it is .parquet."""
    out = Path(out)
    if out.suffix != ".parquet":
        raise LTVError(f"profiles are written as Parquet, not {out.suffix or 'no suffix'!r}",
                       "pass --out profiles.parquet")
    return out


def write_profiles(profile: pd.DataFrame, out: str | Path) -> Path:
    """Write a profile table to Parquet atomically (a temp file renamed into place)."""
    out = check_out_path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    try:
        profile.to_parquet(tmp, index=False)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return out


def profile_summary(profile: pd.DataFrame) -> pd.DataFrame:
    """Customers, share of all, mean LTV and mean churn risk per RFM segment, largest first
    (customers without a segment, e.g. a history of returns only, show as "(none)")."""
    if "rfm_segment" not in profile.columns:
        raise LTVError("the profile has no rfm_segment column",
                       "build it with the segments part (ltv.profiles.parts.SegmentsPart)")
    frame = profile.assign(rfm_segment=profile["rfm_segment"].fillna("(none)"))
    agg = {"customers": ("customer_id", "size")}
    for col in ("ltv", "churn_risk"):
        if col in frame.columns:
            agg[f"mean_{col}"] = (col, "mean")
    table = frame.groupby("rfm_segment").agg(**agg)
    table.insert(1, "share", table["customers"] / len(frame))
    return table.sort_values("customers", ascending=False, kind="stable")
