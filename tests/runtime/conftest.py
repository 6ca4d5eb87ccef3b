"""A registry with a BTYD, a deep and an ensemble (BTYD + deep) version of one simulated shop."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from ltv.models.btyd_model import BTYDModel
from ltv.models.protocol import LTVModel
from ltv.models.training_data import build_training_data
from ltv.registry import Registry
from ltv.simulate import simulate


@dataclass
class Published:
    model: LTVModel  # the in-memory model that was saved and published
    version_dir: Path


@dataclass
class Shop:
    registry: Registry
    features: pd.DataFrame  # the unlabeled snapshot to predict on
    versions: dict[str, Published]


def _deep():
    from ltv.models.deep import DeepModel

    return DeepModel(sequence_encoder="gru", max_epochs=2, patience=1, hidden_units=(16,),
                     cross_layers=1, sequence_units=4, alias="deep")


def _ensemble(members):
    """An ensemble of a BTYD and a deep member, weights set by hand (fitting `auto` would
    pick its own members; the blend arithmetic is what is under test)."""
    from ltv.models.ensemble import EnsembleModel

    model = EnsembleModel(candidates=("btyd", "deep"))
    model.members_ = members
    model.weights_ = {"btyd": 0.35, "deep": 0.65}
    model.validation_origins_, model.validation_scores_ = [], {}
    model.validation_score_ = 0.0
    model.feature_names_ = sorted({c for m in members for c in m.feature_names_})
    return model


@pytest.fixture(scope="session")
def shop(tmp_path_factory) -> Shop:
    pytest.importorskip("keras", reason="the deep family needs tensorflow-cpu (ltv[deep])")
    out = tmp_path_factory.mktemp("runtime_shop")
    simulate(700, out, start="2022-01-01", end="2023-06-30", seed=4)
    data = build_training_data(None, "2023-04-01", 60, transactions=out / "transactions",
                               customers=out / "customers.parquet", max_windows=2,
                               sequence_weeks=6)
    registry = Registry(out / "registry")
    versions = {}
    btyd, deep = BTYDModel(alias="btyd").fit(data), _deep().fit(data)
    for key, model in (("btyd", btyd), ("deep", deep), ("ensemble", _ensemble([btyd, deep]))):
        model.save(out / "models" / key)
        version = registry.publish(key, out / "models" / key)
        versions[key] = Published(model, registry.path(key, version))
    return Shop(registry, data.snapshot, versions)
