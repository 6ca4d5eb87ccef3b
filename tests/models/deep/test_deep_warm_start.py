"""Deep warm start: `fit(data, init_model=champion)` starts from the champion's weights (and
preprocessing) and trains a few epochs; the champion itself is left as it was."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

keras = pytest.importorskip("keras", reason="the deep family needs tensorflow-cpu (ltv[deep])")

from ltv.errors import ConfigError  # noqa: E402
from ltv.models.deep import DeepModel  # noqa: E402
from ltv.models.deep.model import WARM_START_EPOCHS  # noqa: E402
from ltv.models.protocol import TrainingData  # noqa: E402

from .test_deep_model import known_ziln  # noqa: E402

SMALL = dict(hidden_units=(8,), cross_layers=0, sequence_encoder="none", batch_size=500,
             max_epochs=3, patience=2, refit=False)  # one stage: fast enough for a unit test


def data(seed: int) -> TrainingData:
    frame = known_ziln(n=1000, seed=seed)[0].drop(columns=["seq_spend", "seq_orders"])
    return TrainingData(windows=frame, snapshot=None, horizon_days=60,
                        cutoff=pd.Timestamp("2023-05-01"))


@pytest.fixture(scope="module")
def champion() -> DeepModel:
    return DeepModel(**SMALL).fit(data(0))


def weights(model: DeepModel) -> list[np.ndarray]:
    return [np.array(w) for w in model.network_.get_weights()]


def test_warm_start_starts_from_the_champions_weights(champion):
    """With a learning rate of 1e-9 nothing can move (Adam moves a weight by about the
    learning rate per step), so a warm-started network ends where it started: the
    champion's weights, preprocessing statistics included. A new network would hold random
    initial weights instead."""
    start = weights(champion)
    frozen = DeepModel(**{**SMALL, "learning_rate": 1e-9, "max_epochs": 1}).fit(
        data(1), init_model=champion)
    assert len(start) == len(weights(frozen))
    for old, new in zip(start, weights(frozen)):
        np.testing.assert_allclose(new, old, atol=1e-6)
    assert frozen.network_ is not champion.network_


def test_warm_start_trains_a_few_epochs_and_leaves_the_champion_alone(champion):
    start = weights(champion)
    before = champion.predict(data(5).windows)
    new = DeepModel(**{**SMALL, "max_epochs": 50, "patience": 50, "refit": True}).fit(
        data(1), init_model=champion)
    assert len(new.history_["stage1"]["loss"]) == WARM_START_EPOCHS  # capped, not 50
    assert 1 <= new.warm_start_["epochs"] <= WARM_START_EPOCHS
    assert len(new.history_["refit"]["loss"]) == new.warm_start_["epochs"]
    assert any(np.abs(a - b).max() > 1e-4 for a, b in zip(start, weights(new)))
    for old, now in zip(start, weights(champion)):
        np.testing.assert_array_equal(now, old)
    pd.testing.assert_frame_equal(champion.predict(data(5).windows), before)
    assert new.label_scale_ == champion.label_scale_  # the network's output unit is kept


def test_warm_start_needs_the_same_architecture(champion):
    other = DeepModel(**{**SMALL, "hidden_units": (16,)})
    assert "hidden_units differs" in other.warm_start_problem(champion, data(1))
    with pytest.raises(ConfigError, match="hidden_units differs"):
        other.fit(data(1), init_model=champion)
