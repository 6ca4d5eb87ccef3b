"""Which feature columns a model may use, by kind.

The feature table mixes keys, labels, timestamps, numbers, categorical attributes and weekly
sequences. Models pick their inputs from here so that no model ever trains on a label, a key or
a raw timestamp.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

KEY_COLUMNS = ("customer_id", "cutoff")
LABEL_PREFIX = "label_"
SEQUENCE_PREFIX = "seq_"
ATTRIBUTE_PREFIX = "attr_"
# Columns that exist only for some cutoffs (top categories, event types are chosen per
# cutoff): absent means none of that category or event, i.e. 0.
OPTIONAL_PREFIXES = ("cat_share_", "ev_", "conv_", "n_categories")


@dataclass(frozen=True)
class FeatureColumns:
    numeric: list[str]
    categorical: list[str]
    sequences: list[str]

    @property
    def all(self) -> list[str]:
        return self.numeric + self.categorical + self.sequences


def feature_columns(frame: pd.DataFrame) -> FeatureColumns:
    """Split a feature table's columns into numeric, categorical and sequence inputs."""
    numeric, categorical, sequences = [], [], []
    for col in frame.columns:
        if col in KEY_COLUMNS or col.startswith(LABEL_PREFIX):
            continue
        dtype = frame[col].dtype
        if col.startswith(SEQUENCE_PREFIX):
            sequences.append(col)
        elif pd.api.types.is_datetime64_any_dtype(dtype):
            continue  # raw timestamps leak calendar position; days_since_* carry the information
        elif pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
            numeric.append(col)
        elif col.startswith(ATTRIBUTE_PREFIX):
            categorical.append(col)
    return FeatureColumns(numeric, categorical, sequences)
