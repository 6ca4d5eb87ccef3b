"""`ltv explain` through the real CLI: a champion from a registry, features from the
warehouse, a table or JSON of the top drivers, and a clear error for an unknown customer."""

from __future__ import annotations

import json
import warnings

import pytest
from typer.testing import CliRunner

from ltv.cli import app
from ltv.features import build_features
from ltv.registry import Registry

runner = CliRunner()
NAME = "shop"


@pytest.fixture(scope="module")
def registry(shop, btyd, gbdt, tmp_path_factory):
    """Version 1 (BTYD) and 2 (GBDT) of one name; version 1 is the champion."""
    root = tmp_path_factory.mktemp("explain_registry")
    reg = Registry(root / "registry")
    for version, model in ((1, btyd), (2, gbdt)):
        model.save(root / f"model{version}")
        assert reg.publish(NAME, root / f"model{version}") == version
    reg.promote(NAME, 1)
    return reg


def _explain(registry, shop, *extra):
    return runner.invoke(app, ["explain", "--registry", str(registry.root), "--name", NAME,
                               "--db", str(shop.db), *map(str, extra)])


def test_json_drivers_sum_to_the_champions_prediction(registry, shop, btyd):
    customer = str(shop.snapshot.sort_values("frequency")["customer_id"].iloc[-1])
    result = _explain(registry, shop, "--customer", customer, "--cutoff", "2022-10-01",
                      "--top", 2, "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["customer_id"] == customer and body["version"] == 1
    assert body["method"] == "shapley" and len(body["drivers"]) == 2
    assert body["other_count"] == 1
    row = shop.snapshot[shop.snapshot["customer_id"] == customer]
    assert body["prediction"] == pytest.approx(btyd.predict(row)["ltv"].iloc[0], rel=1e-12)
    total = body["baseline"] + sum(d["contribution"] for d in body["drivers"]) + body["other"]
    assert total == pytest.approx(body["prediction"], rel=1e-12)
    assert body["horizon_days"] == 60 and body["cutoff"].startswith("2022-10-01")


def test_the_table_shows_the_top_drivers_at_the_end_of_the_data(registry, shop):
    Registry(registry.root).promote(NAME, 2)  # GBDT: many features, so "other" is a row
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            features = build_features(shop.db)
        customer = str(features["customer_id"].iloc[0])
        result = _explain(registry, shop, "--customer", customer, "--top", 3)
        assert result.exit_code == 0, result.output
        out = " ".join(result.output.split())
        assert f"customer {customer}: {NAME} v2 (gbdt, treeshap)" in out
        assert "baseline" in out and "other features" in out and "prediction" in out
        assert "predicted net spend over the next 60 days" in out
    finally:
        Registry(registry.root).promote(NAME, 1)


def test_an_unknown_customer_is_named_with_how_to_find_valid_ids(registry, shop):
    result = _explain(registry, shop, "--customer", "no-such-customer")
    assert result.exit_code == 2
    out = " ".join(result.output.split())
    assert "customer 'no-such-customer' has no transaction before the cutoff" in out
    assert "ltv features --db" in out and "customer_id" in out


def test_an_unknown_model_name_is_a_clear_error(registry, shop):
    result = runner.invoke(app, ["explain", "--registry", str(registry.root), "--name", "nope",
                                 "--db", str(shop.db), "--customer", "1"])
    assert result.exit_code == 2
    assert "nope" in result.output
