"""The deep network's raw inputs, built from a feature table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ltv.errors import SchemaError
from ltv.models.deep.inputs import DeepInputSpec


def table():
    return pd.DataFrame({
        "customer_id": ["a", "b", "c"],
        "cutoff": pd.to_datetime(["2023-01-01", "2023-01-01", "2023-12-31"]),
        "first_purchase_ts": pd.to_datetime(["2022-01-01"] * 3),  # timestamps are never inputs
        "frequency": [1, 0, 3], "spend_total": [10.0, np.nan, -5.0], "is_vip": [True, False, True],
        "attr_country": ["UK", None, "FR"],
        "seq_spend": [np.array([0.0, 1.0, 2.0]), None, np.array([3.0, 0.0, 0.0])],
        "seq_orders": [np.array([0.0, 1.0, 1.0]), None, np.array([1.0, 0.0, 0.0])],
        "label_spend": [1.0, 2.0, 3.0],
    })


def test_inputs_are_the_raw_values_grouped_by_kind():
    spec = DeepInputSpec.learn(table(), calendar=True, sequences=True)
    assert spec.numeric == ["frequency", "spend_total", "is_vip"]
    assert spec.categories == {"attr_country": ["FR", "UK"]}
    assert spec.sequences == ["seq_spend", "seq_orders"] and spec.weeks == 3
    x = spec.to_inputs(table())
    np.testing.assert_array_equal(x["numeric"], np.array([[1, 10, 1], [0, np.nan, 0],
                                                          [3, -5, 1]], dtype=np.float32))
    assert x["attr_country"].tolist() == [["UK"], [""], ["FR"]]
    assert x["sequence"].shape == (3, 3, 2)
    np.testing.assert_array_equal(x["sequence"][0], [[0, 0], [1, 1], [2, 1]])
    np.testing.assert_array_equal(x["sequence"][1], np.zeros((3, 2)))  # no activity
    np.testing.assert_array_equal(x["calendar"].ravel(), [1, 1, 365])
    assert "label_spend" not in spec.required_columns


def test_spec_round_trips_through_a_dict():
    spec = DeepInputSpec.learn(table(), calendar=False, sequences=True)
    assert DeepInputSpec.from_dict(spec.to_dict()) == spec
    assert "cutoff" not in spec.required_columns


def test_sequences_can_be_left_out():
    spec = DeepInputSpec.learn(table(), calendar=True, sequences=False)
    assert spec.sequences == [] and "sequence" not in spec.to_inputs(table())


def test_a_sequence_of_the_wrong_length_is_named():
    spec = DeepInputSpec.learn(table(), calendar=True, sequences=True)
    bad = table()
    bad.at[2, "seq_orders"] = np.zeros(5)
    with pytest.raises(SchemaError) as err:
        spec.to_inputs(bad)
    assert err.value.column == "seq_orders" and err.value.row == 2
    assert "sequence_weeks=3" in str(err.value)
