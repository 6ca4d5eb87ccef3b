"""The SavedModel export gives the in-memory deep model's predictions from raw values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

tf = pytest.importorskip("tensorflow", reason="the deep family needs tensorflow-cpu (ltv[deep])")

from ltv.errors import LTVError  # noqa: E402
from ltv.export.savedmodel import SIGNATURE, export_savedmodel  # noqa: E402
from ltv.models.deep import DeepModel  # noqa: E402
from ltv.models.protocol import TrainingData  # noqa: E402


@pytest.fixture(scope="module")
def model():
    rng = np.random.default_rng(0)
    n = 2000
    x = rng.normal(size=n)
    spend = (rng.random(n) < 1 / (1 + np.exp(-x))) * rng.lognormal(3 + x, 0.7)
    frame = pd.DataFrame({
        "customer_id": [f"c{i}" for i in range(n)],
        "cutoff": pd.to_datetime(np.where(np.arange(n) < n // 2, "2023-01-01", "2023-03-01")),
        "x": x, "attr_channel": rng.choice(["ads", "email"], n),
        "seq_spend": list(np.abs(rng.normal(x[:, None], 1, (n, 4)))),
        "seq_orders": list(np.ones((n, 4))),
        "label_spend": spend, "label_active": (spend > 0).astype(float)})
    data = TrainingData(windows=frame, snapshot=None, horizon_days=60,
                        cutoff=pd.Timestamp("2023-05-01"))
    fitted = DeepModel(max_epochs=3, hidden_units=(16,), cross_layers=1, sequence_units=4)
    return fitted.fit(data), frame.drop(columns=["label_spend", "label_active"])


def test_exported_signature_matches_predict_on_raw_values(model, tmp_path):
    fitted, features = model
    folder = export_savedmodel(fitted, tmp_path / "1")
    assert (folder / "saved_model.pb").is_file()  # TF Serving's <name>/<version>/ layout
    features = features.copy()
    features.loc[:4, "attr_channel"] = ["tiktok", None, "ads", "email", "ads"]
    raw = fitted.inputs_.to_inputs(features)
    serve = tf.saved_model.load(str(folder)).signatures[SIGNATURE]
    out = serve(**{k: tf.constant(v) for k, v in raw.items()})
    expected = fitted.predict(features)
    for col in ("ltv", "ltv_lo", "ltv_hi", "p_active"):
        np.testing.assert_allclose(out[col].numpy(), expected[col], rtol=2e-5, atol=1e-6,
                                   err_msg=col)


def test_an_earlier_savedmodel_is_never_overwritten(model, tmp_path):
    fitted, _ = model
    export_savedmodel(fitted, tmp_path / "1")
    before = (tmp_path / "1" / "saved_model.pb").read_bytes()
    with pytest.raises(LTVError, match="already holds a SavedModel"):
        export_savedmodel(fitted, tmp_path / "1")
    assert (tmp_path / "1" / "saved_model.pb").read_bytes() == before


def test_publishing_a_deep_model_makes_the_version_a_tf_serving_savedmodel(model, tmp_path):
    from ltv.registry import Registry

    fitted, features = model
    fitted.save(tmp_path / "m")
    registry = Registry(tmp_path / "registry")
    version = registry.publish("shop", tmp_path / "m")
    root = tmp_path / "registry" / "shop" / str(version)
    assert (root / "saved_model.pb").is_file() and (root / "variables").is_dir()
    assert registry.verify("shop") == [version]
    assert "saved_model.pb" in registry.manifest("shop", version)["files"]
    serve = tf.saved_model.load(str(root)).signatures[SIGNATURE]
    raw = fitted.inputs_.to_inputs(features.iloc[:50])
    out = serve(**{k: tf.constant(v) for k, v in raw.items()})
    np.testing.assert_allclose(out["ltv"].numpy(), fitted.predict(features.iloc[:50])["ltv"],
                               rtol=2e-5, atol=1e-6)
