"""GET /v1/customers/{id} adds the stored profile and an explanation that sums to the served
prediction, from the version that scored the customer."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from ltv.explain import make_explainer
from ltv.online import open_store
from ltv.online.profiles import write_profiles
from ltv.serving.app import create_app

from .conftest import NAME, TOKEN, LiveServer, settings, store_copy


def _sums(explanation: dict) -> float:
    return math.fsum([explanation["baseline"], explanation["other"],
                      explanation["approximation_error"],
                      *(d["contribution"] for d in explanation["drivers"])])


def test_profile_and_explanation_of_each_served_version(shop, tmp_path):
    online = store_copy(shop, tmp_path)
    row = shop.snapshot.iloc[5]
    cid = row["customer_id"]
    profile = pd.DataFrame({"customer_id": [cid], "rfm_segment": ["loyal"],
                            "churn_risk": [0.125], "top_interests": ["toys|books"]})
    with open_store(online) as store:
        write_profiles(store, profile)
    shop.registry.promote(NAME, 1)
    with LiveServer(create_app(settings(shop, online=online))) as server:
        with server.client() as client:
            gbdt = client.get(f"/v1/customers/{cid}").json()
            bare = client.get(f"/v1/customers/{cid}", params={"explain": "false"}).json()
            other = client.get(f"/v1/customers/{shop.snapshot.iloc[6]['customer_id']}").json()
        shop.registry.promote(NAME, 2)
        with server.client(token=TOKEN) as client:
            assert client.post("/v1/admin/reload").status_code == 200
            btyd = client.get(f"/v1/customers/{cid}").json()
    shop.registry.promote(NAME, 1)

    assert gbdt["profile"] == {"customer_id": cid, "rfm_segment": "loyal", "churn_risk": 0.125,
                               "top_interests": "toys|books"}
    assert other["profile"] is None  # no profile stored for that customer
    assert "explanation" not in bare or bare["explanation"] is None

    explained = gbdt["explanation"]
    assert explained["model_version"] == 1 and explained["method"] == "treeshap"
    assert _sums(explained) == pytest.approx(gbdt["prediction"]["ltv"], rel=1e-9)
    # the same numbers as explaining the in-memory model that was published as version 1
    reference = make_explainer(shop.models[1]).explain(shop.snapshot.iloc[[5]])
    by_feature = {c.feature: c.contribution for c in reference.contributions}
    for driver in explained["drivers"]:
        assert driver["contribution"] == pytest.approx(by_feature[driver["feature"]],
                                                       rel=1e-6, abs=1e-9)

    explained = btyd["explanation"]
    assert explained["model_version"] == 2 and explained["method"] == "shapley"
    assert btyd["prediction"]["model_version"] == 2
    assert _sums(explained) == pytest.approx(btyd["prediction"]["ltv"], rel=1e-9)
    assert explained["notes"]  # BTYD explains in words too
