"""GBDT warm start: `fit(data, init_model=champion)` keeps the champion's trees and adds
new ones learned on the new windows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from ltv.errors import ConfigError
from ltv.evaluation.metrics import normalized_gini
from ltv.models.btyd_model import BTYDModel
from ltv.models.gbdt import GBDTModel
from ltv.models.protocol import TrainingData

HORIZON = 30


def windows(seed: int, flip: bool, n: int = 1500, extra: bool = False) -> TrainingData:
    """Three stacked windows, 30 days apart, of a known spend model: P(spend > 0) =
    sigmoid(1.5 x1 - 0.5) and log spend ~ N(1 + s x2, 0.4) with s = 1, or s = -1 when
    `flip` (the shop changed: x2 now lowers spend)."""
    rng = np.random.default_rng(seed)
    frames = []
    for k, cutoff in enumerate(pd.to_datetime(["2023-01-01", "2023-01-31", "2023-03-02"])):
        x1, x2 = rng.normal(size=n), rng.normal(size=n)
        mu = 1.0 + (-1.0 if flip else 1.0) * x2
        spend = (rng.random(n) < expit(1.5 * x1 - 0.5)) * rng.lognormal(mu, 0.4)
        frame = pd.DataFrame({"customer_id": [f"c{i}" for i in range(n)], "cutoff": cutoff,
                              "x1": x1, "x2": x2, "label_spend": spend,
                              "label_active": (spend > 0).astype(float)})
        if extra:
            frame["x3"] = rng.normal(size=n)
        frames.append(frame)
    data = pd.concat(frames, ignore_index=True)
    return TrainingData(windows=data, snapshot=None, horizon_days=HORIZON,
                        cutoff=pd.Timestamp("2023-04-01"))


def truth(frame: pd.DataFrame, flip: bool) -> np.ndarray:
    """E[spend] of each row under the known model (lognormal mean exp(mu + 0.4^2 / 2))."""
    mu = 1.0 + (-1.0 if flip else 1.0) * frame["x2"].to_numpy()
    return expit(1.5 * frame["x1"].to_numpy() - 0.5) * np.exp(mu + 0.08)


PARAMS = dict(n_estimators=60, early_stopping_rounds=10, calendar_features=False)


@pytest.fixture(scope="module")
def champion() -> GBDTModel:
    return GBDTModel(**PARAMS).fit(windows(0, flip=False))


def test_warm_start_keeps_the_champions_trees_and_adds_more(champion):
    before = {k: b.current_iteration() for k, b in champion.boosters_.items()}
    reference = champion.predict(windows(9, flip=False).windows)
    new = GBDTModel(**PARAMS).fit(windows(1, flip=True), init_model=champion)
    X = new.inputs_.matrix(windows(2, flip=True).windows)
    for name, booster in new.boosters_.items():
        assert booster.current_iteration() > before[name]
        # The first trees ARE the champion's: truncated to them, the raw scores agree.
        np.testing.assert_array_equal(
            booster.predict(X, num_iteration=before[name], raw_score=True),
            champion.boosters_[name].predict(X, raw_score=True))
    assert new.warm_start_ == {"trees_before": before}
    # The champion itself is untouched.
    assert {k: b.current_iteration() for k, b in champion.boosters_.items()} == before
    pd.testing.assert_frame_equal(champion.predict(windows(9, flip=False).windows), reference)


def test_the_added_trees_learn_the_new_relationship(champion):
    """After the shop changed, continuing on the new windows ranks the new customers far
    better than the champion does (against the known expected spend)."""
    new = GBDTModel(**PARAMS).fit(windows(1, flip=True), init_model=champion)
    test = windows(3, flip=True).windows
    expected = truth(test, flip=True)
    old_gini = normalized_gini(expected, champion.predict(test)["ltv"])
    new_gini = normalized_gini(expected, new.predict(test)["ltv"])
    assert new_gini > old_gini + 0.2, (old_gini, new_gini)


def test_a_warm_started_model_saves_and_loads(champion, tmp_path):
    new = GBDTModel(**PARAMS).fit(windows(1, flip=True), init_model=champion)
    new.save(tmp_path / "m")
    loaded = GBDTModel.load(tmp_path / "m")
    assert loaded.warm_start_ == new.warm_start_
    features = windows(4, flip=True).windows
    pd.testing.assert_frame_equal(loaded.predict(features), new.predict(features))


def test_warm_start_problems_name_the_difference(champion):
    data = windows(1, flip=True)
    assert GBDTModel(**PARAMS).warm_start_problem(champion, data) is None
    assert "objective differs" in GBDTModel(**{**PARAMS, "objective": "hurdle"}) \
        .warm_start_problem(champion, data)
    assert "new: x3" in GBDTModel(**PARAMS).warm_start_problem(
        champion, windows(1, flip=True, extra=True))
    assert "btyd model, not gbdt" in GBDTModel(**PARAMS).warm_start_problem(BTYDModel(), data)
    assert "not fitted" in GBDTModel(**PARAMS).warm_start_problem(GBDTModel(), data)
    with pytest.raises(ConfigError, match="objective differs"):
        GBDTModel(**{**PARAMS, "objective": "hurdle"}).fit(data, init_model=champion)
