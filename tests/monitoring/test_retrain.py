"""`retrain` on a simulated shop: a better challenger is promoted, a worse one is not, both
are scored without peeking (checked against models fitted independently before the window
opens), the decision is recorded, warm start continues the champion, and the lock holds."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from ltv.errors import LTVError
from ltv.evaluation.backtest import actual_spend
from ltv.evaluation.metrics import normalized_gini
from ltv.features.build import build_features
from ltv.models.gbdt import GBDTModel
from ltv.models.training_data import build_training_data, fill_optional_columns
from ltv.monitoring.decisions import (RetrainLockedError, decisions_path, read_decisions,
                                      retrain_lock)
from ltv.monitoring.gate import GateConfig
from ltv.monitoring.retrain import retrain
from ltv.registry import Registry

from .retrain_shop import (CUTOFF, FAST, HORIZON, ORIGIN, WINDOWS, make_shop,
                          publish_champion)


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    return make_shop(tmp_path_factory.mktemp("retrain_shop"))


@pytest.fixture
def registry(tmp_path) -> Registry:
    return Registry(tmp_path / "registry")


def window_gini(shop, model) -> float:
    """Independent reference: `model`'s Gini on the customers seen before the origin, features
    as of the origin, actual spend in [origin, cutoff)."""
    snapshot = build_features(shop.db, ORIGIN)
    pred = model.predict(fill_optional_columns(snapshot, list(model.feature_names_)))
    actual = actual_spend(shop.db, ORIGIN, HORIZON).reindex(pred["customer_id"])
    return normalized_gini(actual.to_numpy(), pred["ltv"])


def run(registry, shop, **kwargs):
    kwargs.setdefault("gate", GateConfig(bootstrap_rounds=50))
    return retrain(registry.root, "shop", shop.db, CUTOFF, window_options=WINDOWS, **kwargs)


def test_a_better_challenger_is_promoted_and_the_decision_recorded(shop, registry):
    weak = publish_champion(shop, registry, GBDTModel(**FAST), "2022-09-01", only=["T"])
    # Decile MAPE is no guard on 466 customers: the lowest deciles' actual means are near 0,
    # so their percentage errors swing by whole units between models (the gate tests cover
    # guards). The level still is one: |bias|.
    result = run(registry, shop, models=GBDTModel(**FAST),
                 gate=GateConfig(bootstrap_rounds=50, guards={"abs_bias": 0.1}))
    assert result.promoted and result.champion_version == weak
    assert registry.champion("shop") == result.challenger_version == weak + 1
    [record] = read_decisions(registry.root, "shop")
    assert record["verdict"] == "promoted" and record["champion_after"] == weak + 1
    assert record["evaluation"]["champion_reference"] == "artifact"
    assert record["evaluation"]["champion_out_of_sample"] is True  # 2022-09-01 <= origin
    assert record["bootstrap"]["gini"]["low"] > 0
    # Both metric sets, each equal to an independent computation that cannot have peeked:
    # the champion artifact, and the challenger's spec fitted on data before the origin.
    champion, challenger = record["champion"]["metrics"], record["challenger"]["metrics"]
    assert champion["gini"] == pytest.approx(window_gini(shop, registry.load("shop", weak)))
    gate_model = GBDTModel(**FAST).fit(build_training_data(shop.db, ORIGIN, HORIZON,
                                                           **WINDOWS))
    assert challenger["gini"] == pytest.approx(window_gini(shop, gate_model), abs=1e-6)
    assert challenger["gini"] > champion["gini"] + 0.3
    for metrics in (champion, challenger):
        assert {"gini", "decile_mape", "bias", "auc", "n"} <= set(metrics)
    # The promoted version was fitted before the cutoff; its backtest is the gate's scores.
    manifest = registry.manifest("shop", weak + 1)
    assert manifest["cutoff"] == str(CUTOFF)
    assert manifest["backtest"]["metrics"]["gini"] == pytest.approx(challenger["gini"])
    assert manifest["metadata"]["retrain"]["verdict"] == "promoted"


def test_a_worse_challenger_is_kept_out_and_the_pointer_is_unchanged(shop, registry):
    good = publish_champion(shop, registry, GBDTModel(**FAST), "2022-09-01")
    pointer = (registry.root / "shop" / "pointer.json").read_bytes()
    # No leaf can hold a million customers: every tree is a stump, every prediction equal.
    absurd = GBDTModel(**FAST, min_child_samples=1_000_000)
    result = run(registry, shop, models=absurd, warm_start=False)
    assert not result.promoted
    assert registry.champion("shop") == good
    assert (registry.root / "shop" / "pointer.json").read_bytes() == pointer
    assert registry.versions("shop") == [good, good + 1]  # published for inspection anyway
    [record] = read_decisions(registry.root, "shop")
    assert record["verdict"] == "kept" and record["champion_after"] == good
    assert record["challenger"]["metrics"]["gini"] == pytest.approx(0.0, abs=1e-9)  # all tied
    assert "below the margin" in record["reason"]
    assert record["challenger"]["warm_start"] == {"used": False,
                                                  "reason": "off (--no-warm-start): fresh fits"}


def test_a_champion_that_saw_the_window_is_replaced_by_a_stale_replica(shop, registry):
    late = pd.Timestamp("2022-11-01")  # after the origin: it saw labels of the window
    publish_champion(shop, registry, GBDTModel(**FAST), late)
    record = run(registry, shop, warm_start=False).decision
    evaluation = record["evaluation"]
    replica_cutoff = ORIGIN - (CUTOFF - late)  # as stale at the origin as the champion now
    assert evaluation["champion_reference"] == "replica"
    assert evaluation["reference_trained_before"] == str(replica_cutoff)
    assert evaluation["champion_out_of_sample"] is True
    replica = GBDTModel(**FAST).fit(build_training_data(shop.db, replica_cutoff, HORIZON,
                                                        **WINDOWS))
    assert record["champion"]["metrics"]["gini"] == pytest.approx(window_gini(shop, replica),
                                                                  abs=1e-6)
    assert record["challenger"]["models"] == "gbdt"  # the champion's spec, repeated


def test_warm_start_continues_from_the_champion(shop, registry):
    good = publish_champion(shop, registry, GBDTModel(**FAST), "2022-09-01")
    result = run(registry, shop)  # default: warm start when possible
    warm = result.decision["challenger"]["warm_start"]
    assert warm["used"], warm["reason"]
    champion = registry.load("shop", good)
    challenger = registry.load("shop", result.challenger_version)
    trees = {k: b.current_iteration() for k, b in champion.boosters_.items()}
    assert challenger.warm_start_ == {"trees_before": trees}
    for name, booster in challenger.boosters_.items():
        assert booster.current_iteration() > trees[name]


def test_no_champion_promotes_the_first_challenger(shop, registry):
    with pytest.raises(LTVError, match="no champion whose spec a retrain could repeat"):
        run(registry, shop)
    result = run(registry, shop, models="btyd")
    assert result.promoted and registry.champion("shop") == 1
    assert "no champion to compare with" in result.decision["reason"]
    json.loads(result.to_json())  # strict JSON, nan as null


def test_refusals_leave_the_registry_as_it_was(shop, registry):
    publish_champion(shop, registry, GBDTModel(**FAST), "2022-09-01")
    with pytest.raises(LTVError, match="differs from the champion's 60-day horizon"):
        run(registry, shop, horizon_days=90)
    with pytest.raises(LTVError, match="last transaction before the cutoff 2023-03-01"):
        retrain(registry.root, "shop", shop.db, "2023-03-01", window_options=WINDOWS)
    with pytest.raises(LTVError, match="unknown model family 'gdbt'"):
        run(registry, shop, models="gdbt")
    with retrain_lock(registry.root, "shop"):
        with pytest.raises(RetrainLockedError, match=r"another retrain of 'shop' is running "
                                                     r"\(lock .* held by pid \d+\)"):
            run(registry, shop)
    assert registry.versions("shop") == [1]
    assert not decisions_path(registry.root, "shop").exists()
