"""A small fitted BTYD model saved to disk (fast, no TensorFlow), shared by the registry tests."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from ltv.models.btyd_model import BTYDModel
from ltv.models.training_data import build_training_data
from ltv.registry import Registry
from ltv.simulate import simulate

HORIZON = 60
FEATURES = ["frequency", "recency", "T", "monetary_value"]


@dataclass
class SavedModel:
    path: Path
    model: BTYDModel
    features: pd.DataFrame  # rows to predict on


@pytest.fixture(scope="session")
def saved_model(tmp_path_factory) -> SavedModel:
    out = tmp_path_factory.mktemp("registry_shop")
    simulate(500, out, start="2022-01-01", end="2022-12-31", seed=5)
    data = build_training_data(None, "2022-10-01", HORIZON, transactions=out / "transactions",
                               max_windows=1)
    model = BTYDModel().fit(data)
    model.save(out / "model")
    return SavedModel(out / "model", model, data.snapshot)


@pytest.fixture
def registry(tmp_path) -> Registry:
    return Registry(tmp_path / "registry")


def writable(path: Path) -> Path:
    """Published files are read-only: make one writable before a test damages it."""
    os.chmod(path, 0o644)
    return path


def flip_byte(path: Path, offset: int = 10) -> None:
    data = bytearray(writable(path).read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))
