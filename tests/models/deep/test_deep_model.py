"""DeepModel beyond the protocol suite: what it learns, units, raw-value export, logs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

keras = pytest.importorskip("keras", reason="the deep family needs tensorflow-cpu (ltv[deep])")

from ltv.errors import ConfigError  # noqa: E402
from ltv.models.deep import DeepModel  # noqa: E402
from ltv.models.deep.mixture import ZILN  # noqa: E402
from ltv.models.deep.model import NETWORK_FILE  # noqa: E402
from ltv.models.protocol import TrainingData  # noqa: E402

WEEKS = 6


def known_ziln(n: int = 6000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Two stacked windows of a ZILN with known parameters: P(spend > 0) = sigmoid(2 x1 - 1)
    and log spend ~ N(1 + x2, 0.5) for spenders. x1, x2 also shape the weekly sequence."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    p, mu = expit(2 * x1 - 1), 1.0 + x2
    spend = (rng.random(n) < p) * rng.lognormal(mu, 0.5)
    weeks = np.clip(rng.normal(x1[:, None], 1.0, (n, WEEKS)), 0, None)
    frame = pd.DataFrame({
        "customer_id": [f"c{i % (n // 2)}" for i in range(n)],
        "cutoff": pd.to_datetime(np.where(np.arange(n) < n // 2, "2023-01-01", "2023-03-01")),
        "x1": x1, "x2": x2,
        "attr_channel": rng.choice(["ads", "email", "organic"], n),
        "seq_spend": list(weeks * 10), "seq_orders": list((weeks > 0).astype(float)),
        "label_spend": spend, "label_active": (spend > 0).astype(float),
    })
    return frame, p, p * np.exp(mu + 0.125)


def fit(frame: pd.DataFrame, **params) -> DeepModel:
    data = TrainingData(windows=frame, snapshot=None, horizon_days=60,
                        cutoff=pd.Timestamp("2023-05-01"))
    defaults = dict(max_epochs=25, patience=3, hidden_units=(32,), cross_layers=1,
                    sequence_units=8)
    return DeepModel(**{**defaults, **params}).fit(data)


@pytest.fixture(scope="module")
def synthetic():
    return known_ziln()


@pytest.fixture(scope="module")
def model(synthetic):
    return fit(synthetic[0])


def features(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=["label_spend", "label_active"])


def test_it_recovers_a_known_zero_inflated_lognormal(model, synthetic):
    frame, p, mean = synthetic
    out = model.predict(features(frame))
    assert np.abs(out["p_active"] - p).mean() < 0.05
    assert np.corrcoef(np.log(out["ltv"]), np.log(mean))[0, 1] > 0.95
    assert out["ltv"].sum() == pytest.approx(mean.sum(), rel=0.1)


def test_best_epoch_comes_from_the_latest_window_and_the_refit_uses_it(model):
    val = model.history_["stage1"]["val_loss"]
    assert model.best_epoch_ == int(np.argmin(val)) + 1
    assert len(model.history_["refit"]["loss"]) == model.best_epoch_
    assert model.validation_["split"] == "latest window"
    assert model.validation_["rows"] == 3000


def test_label_scale_does_not_change_training(synthetic, model):
    """Spends of 10,000 train exactly like spends of 10: predictions scale with the labels."""
    frame = synthetic[0]
    big = fit(frame.assign(label_spend=frame["label_spend"] * 1000))
    small = model.predict(features(frame))
    large = big.predict(features(frame))
    np.testing.assert_allclose(large["ltv"], small["ltv"] * 1000, rtol=1e-3)
    np.testing.assert_allclose(large["p_active"], small["p_active"], atol=1e-4)


def test_the_saved_network_takes_raw_feature_values(model, synthetic, tmp_path):
    model.save(tmp_path / "m")
    network = keras.saving.load_model(tmp_path / "m" / NETWORK_FILE, compile=False)
    frame = features(synthetic[0]).iloc[:200]
    raw = model.inputs_.to_inputs(frame)  # column values only: no scaling, no codes
    assert isinstance(raw["attr_channel"][0, 0], str)
    import tensorflow as tf

    logits = network.predict_on_batch({k: tf.constant(v) for k, v in raw.items()})
    ltv = ZILN.from_logits(logits).mean() * model.label_scale_ * model.balance_factor_
    np.testing.assert_allclose(ltv, model.predict(frame)["ltv"], rtol=1e-12)
    layer_types = {type(layer).__name__ for layer in network.layers}
    assert {"Normalization", "StringLookup", "Embedding", "SignedLog", "GRU",
            "Cross"} <= layer_types


def test_unseen_and_missing_categories_still_predict(model, synthetic):
    frame = features(synthetic[0]).iloc[:3].copy()
    frame["attr_channel"] = ["tiktok", None, "ads"]
    out = model.predict(frame)
    assert np.isfinite(out[["ltv", "ltv_lo", "ltv_hi", "p_active"]].to_numpy()).all()


def test_tensorboard_logs_go_under_the_saved_folder(model, tmp_path):
    model.save(tmp_path / "m")
    for stage in ("stage1", "refit"):
        events = list((tmp_path / "m" / "logs" / stage).rglob("events.out.tfevents.*"))
        assert events, stage


def test_transformer_encoder_trains(synthetic):
    small = synthetic[0].iloc[:2000].assign(
        cutoff=lambda f: pd.to_datetime(np.where(np.arange(len(f)) < 1000, "2023-01-01",
                                                 "2023-03-01")))
    model = fit(small, sequence_encoder="transformer", max_epochs=4, cross_layers=0)
    names = {type(layer).__name__ for layer in model.network_.layers}
    assert "TransformerEncoder" in names and "GRU" not in names
    assert np.isfinite(model.predict(features(small))["ltv"]).all()


@pytest.mark.parametrize("params", [
    {"sequence_encoder": "lstm"}, {"cross_layers": -1}, {"hidden_units": ()},
    {"dropout": 1.0}, {"learning_rate": 0.0}, {"max_epochs": 0}, {"interval_level": 1.0},
])
def test_bad_hyperparameters_are_refused_before_training(params, synthetic):
    with pytest.raises(ConfigError):
        fit(synthetic[0].iloc[:50], **params)


def test_stage1_trains_only_on_windows_labeled_before_the_latest_origin(synthetic):
    """Three windows 2023-01-01 / 02-01 / 03-01 and H = 40 days: 03-01 validates, only
    01-01's labels end by it (01-01 + 40 d = 02-10); 02-01's overlap and train nothing."""
    frame = synthetic[0].copy()
    frame["cutoff"] = pd.to_datetime(np.select(
        [np.arange(len(frame)) < 2000, np.arange(len(frame)) < 4000],
        ["2023-01-01", "2023-02-01"], "2023-03-01"))
    data = TrainingData(windows=frame, snapshot=None, horizon_days=40,
                        cutoff=pd.Timestamp("2023-04-10"))
    model = DeepModel(max_epochs=2, patience=1, hidden_units=(8,), cross_layers=1,
                      sequence_units=4).fit(data)
    assert model.validation_["split"] == "gapped latest window"
    assert model.validation_["rows"] == 2000  # the 2023-03-01 window
    assert model.validation_["train_rows"] == 2000  # the 2023-01-01 window only
    assert len(model.history_["refit"]["loss"]) == model.best_epoch_
