"""The rows an explainer reads: the customer's feature row (`one_row`), and the "typical
customer" baseline of the BTYD and deep explainers (`ltv.models.typical`, where it lives
because `ltv train` records it; computed once, when an explainer is built, and costing
nothing per explanation).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ltv.errors import LTVError, SchemaError
from ltv.models.typical import TYPICAL_ID, typical_customer

__all__ = ["TYPICAL_ID", "one_row", "typical_customer"]


def one_row(features: pd.DataFrame | Mapping[str, Any]) -> pd.DataFrame:
    """`features` as a one-row DataFrame with a fresh index. A mapping is either one row
    ({column: value}) or a one-row table ({column: [value]}, as the server's feature
    lookups return), told apart by its customer_id."""
    if isinstance(features, Mapping):
        table = isinstance(features.get("customer_id"), (list, tuple, np.ndarray))
        features = pd.DataFrame({k: list(v) if table else [v] for k, v in features.items()})
    if not isinstance(features, pd.DataFrame):
        raise LTVError(f"cannot explain a {type(features).__name__}",
                       "pass one feature row as a DataFrame or a {column: value} mapping")
    if len(features) != 1:
        raise LTVError(f"an explanation is of one customer, got {len(features)} feature rows",
                       "select the customer's row first, e.g. features[features.customer_id "
                       "== '12347']")
    if "customer_id" not in features.columns:
        raise SchemaError("column missing from the feature row",
                          "pass a row of the table built by ltv.build_features",
                          table="features", column="customer_id")
    return features.reset_index(drop=True)
