"""What `ltv explain` does: a registry's champion, one customer's features, their explanation.

Kept out of the CLI so it is testable and reusable (a notebook can call it too); the CLI only
prints the result.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ltv.errors import LTVError
from ltv.explain.factory import make_explainer
from ltv.explain.result import Explanation

EXAMPLE_IDS = 5


@dataclass(frozen=True)
class ExplainedCustomer:
    explanation: Explanation
    name: str
    version: int
    cutoff: pd.Timestamp  # features use transactions before it
    horizon_days: int | None  # the prediction is net spend over the next horizon_days


def explain_customer(registry: str | Path, name: str, customer_id: str, *,
                     db: str | Path | None = None, cutoff: str | None = None
                     ) -> ExplainedCustomer:
    """Explain the champion of `name`'s prediction for `customer_id`, with features as of
    `cutoff` (None: the end of the data) built from the warehouse `db` (None: the one in
    `ltv.settings`). The baseline's reference rows are every customer at that cutoff."""
    from ltv.features.build import build_features
    from ltv.models.training_data import fill_optional_columns
    from ltv.registry import Registry

    reg = Registry(registry)
    if not reg.versions(name):
        reg.verify(name)  # raises the registry's own "no model 'name'" error, with its fix
    version = reg.champion(name)
    if version is None:
        reg.load(name)  # raises the registry's own "no champion" error, with its fix
    model = _load(reg, name, version)
    features = build_features(db, cutoff, **feature_options(model))
    if features.empty:
        raise LTVError(f"no customer has a transaction before the cutoff {cutoff or 'end'}",
                       "choose a later --cutoff")
    features = fill_optional_columns(features, list(model.feature_names_))
    row = find_customer(features, customer_id, db)
    explanation = make_explainer(model, reference=features).explain(row)
    return ExplainedCustomer(explanation, name, int(version),
                             pd.Timestamp(features["cutoff"].iloc[0]), _horizon(model))


def find_customer(features: pd.DataFrame, customer_id: str, db=None) -> pd.DataFrame:
    """The customer's one feature row, or an error naming the id and some valid ones."""
    ids = features["customer_id"].astype(str)
    row = features[ids == str(customer_id)]
    if row.empty:
        cutoff = pd.Timestamp(features["cutoff"].iloc[0])
        examples = ", ".join(sorted(ids.tolist())[:EXAMPLE_IDS])
        where = f" --db {db}" if db is not None else ""
        raise LTVError(
            f"customer '{customer_id}' has no transaction before the cutoff "
            f"{cutoff:%Y-%m-%d %H:%M} ({len(ids):,} customers do, e.g. {examples})",
            f"list valid ids with `ltv features{where} --out features.parquet` (column "
            "customer_id), or pass a later --cutoff")
    return row.reset_index(drop=True)


def feature_options(model) -> dict:
    """build_features options the model needs beyond the defaults: a deep network reads
    weekly sequences of exactly the length it was trained on."""
    members = getattr(model, "members_", None) or [model]
    weeks = {m.inputs_.weeks for m in members
             if getattr(m, "family", None) == "deep" and m.inputs_.sequences}
    return {"sequence_weeks": weeks.pop()} if len(weeks) == 1 else {}


def _load(reg, name: str, version: int):
    """The verified version; without TensorFlow, a deep model runs on the light runtime
    (and is explained by path differences instead of integrated gradients)."""
    if importlib.util.find_spec("keras") is not None:
        return reg.load(name, version)
    from ltv.runtime import load_predictor

    reg.verify(name, version)
    return load_predictor(reg.path(name, version), verify=False).model


def _horizon(model) -> int | None:
    horizon = getattr(model, "horizon_days_", None)
    if horizon is None and getattr(model, "members_", None):
        horizon = getattr(model.members_[0], "horizon_days_", None)
    return None if horizon is None else int(horizon)
