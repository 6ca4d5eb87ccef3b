"""The Explanation type: top-k plus `other` keeps the sum, JSON is plain and exact."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from ltv.explain.result import Contribution, Explanation
from ltv.explain.rows import one_row, typical_customer
from ltv.errors import LTVError


def _explanation(error: float = 0.0) -> Explanation:
    values = [3.5, -7.25, 0.125, 1e-3, -2.0, 0.0]
    contributions = [Contribution(f"f{i}", float(i), v) for i, v in enumerate(values)]
    return Explanation.build(customer_id="c1", model="m", method="shapley",
                             prediction=100.0 + math.fsum(values) + error, baseline=100.0,
                             contributions=contributions, baseline_description="b",
                             approximation_error=error)


@pytest.mark.parametrize("k", [0, 1, 3, 6, 10])
def test_top_k_plus_other_sums_to_the_prediction(k):
    e = _explanation(error=0.01)
    drivers = e.top(k)
    assert [c.feature for c in drivers.top] == ["f1", "f0", "f4", "f2", "f3", "f5"][:k]
    total = e.baseline + sum(c.contribution for c in drivers.top) + drivers.other \
        + e.approximation_error
    assert total == pytest.approx(e.prediction, abs=1e-12)
    assert drivers.other_count == max(0, 6 - k)


def test_to_dict_is_json_and_keeps_the_identity():
    e = _explanation()
    body = json.loads(json.dumps(e.to_dict(top=2)))
    assert [d["feature"] for d in body["drivers"]] == ["f1", "f0"]
    assert body["baseline"] + sum(d["contribution"] for d in body["drivers"]) + body["other"] \
        + body["approximation_error"] == pytest.approx(body["prediction"], abs=1e-12)
    assert body["other_count"] == 4
    with pytest.raises(ValueError, match="k=-1"):
        e.top(-1)


def test_typical_customer_takes_medians_modes_and_weekwise_medians():
    import pandas as pd

    ref = pd.DataFrame({
        "customer_id": ["a", "b", "c", "d"],
        "cutoff": pd.to_datetime(["2022-10-01"] * 4),
        "x": [1.0, 2.0, 10.0, np.nan],  # median of the present values
        "gap": [np.nan, np.nan, np.nan, 4.0],  # mostly missing -> missing
        "attr_channel": ["web", "shop", "web", None],
        "seq_spend": [[1.0, 2.0], [3.0, 0.0], None, [5.0, 6.0]],
    })
    row = typical_customer(ref)
    assert row.at[0, "x"] == 2.0 and np.isnan(row.at[0, "gap"])
    assert row.at[0, "attr_channel"] == "web"
    assert row.at[0, "seq_spend"] == [2.0, 1.0]  # medians of (1,3,0,5) and (2,0,0,6)
    assert row.at[0, "cutoff"] == pd.Timestamp("2022-10-01")
    with pytest.raises(LTVError, match="one customer, got 4"):
        one_row(ref)


def test_a_row_may_be_a_mapping_of_values_or_of_one_element_columns(gbdt, shop):
    """The server holds rows as {column: value} or {column: [value]}; both explain like the
    DataFrame row, sequences (list values) included."""
    from ltv.explain import make_explainer

    row = shop.snapshot.iloc[[4]].reset_index(drop=True)
    record = row.iloc[0].to_dict()
    assert isinstance(record["seq_spend"], (list, np.ndarray))
    explainer = make_explainer(gbdt)
    want = explainer.explain(row).to_dict(top=None)
    for form in (record, {k: [v] for k, v in record.items()}):
        assert one_row(form)["seq_spend"].iloc[0] is not None
        assert len(one_row(form)) == 1
        assert explainer.explain(form).to_dict(top=None) == want
