"""The LiteRT export gives the in-memory deep model's predictions, from the same raw rows."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

keras = pytest.importorskip("keras", reason="the deep family needs tensorflow-cpu (ltv[deep])")
pytest.importorskip("ai_edge_litert", reason="the light runtime needs ai-edge-litert")

from ltv.errors import LTVError  # noqa: E402
from ltv.export.litert import export_light, light_network  # noqa: E402
from ltv.models.deep import DeepModel  # noqa: E402
from ltv.models.persistence import CorruptModelError  # noqa: E402
from ltv.models.training_data import build_training_data  # noqa: E402
from ltv.runtime import artifact  # noqa: E402
from ltv.runtime.deep import LightDeepModel  # noqa: E402
from ltv.simulate import simulate  # noqa: E402

COLUMNS = ["ltv", "ltv_lo", "ltv_hi", "p_active"]


def assert_parity(actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    """float32 network in both; rtol 1e-4 leaves ~10x margin over the measured error."""
    assert list(actual.columns) == list(expected.columns)
    np.testing.assert_array_equal(actual["customer_id"], expected["customer_id"])
    np.testing.assert_array_equal(actual["model"], expected["model"])
    for col in COLUMNS:
        np.testing.assert_allclose(actual[col], expected[col], rtol=1e-4, atol=1e-6,
                                   err_msg=col)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A simulated shop: numeric features with NaNs, three attr_* columns, 6-week sequences."""
    out = tmp_path_factory.mktemp("light_shop")
    simulate(700, out, start="2022-01-01", end="2023-06-30", seed=3)
    return build_training_data(None, "2023-04-01", 60, transactions=out / "transactions",
                               customers=out / "customers.parquet", max_windows=2,
                               sequence_weeks=6)


def small(encoder: str) -> DeepModel:
    return DeepModel(sequence_encoder=encoder, max_epochs=2, patience=1, hidden_units=(16,),
                     cross_layers=1, sequence_units=4, alias=f"deep_{encoder}")


@pytest.fixture(scope="module", params=["gru", "transformer"])
def fitted(request, data):
    return small(request.param).fit(data)


@pytest.fixture(scope="module")
def exported(fitted, tmp_path_factory):
    return export_light(fitted, tmp_path_factory.mktemp("export") / "light")


def odd_rows(features: pd.DataFrame) -> pd.DataFrame:
    """Unseen, missing and empty attribute values, and a missing numeric value."""
    features = features.copy()
    features.loc[features.index[:4], "attr_channel"] = ["tiktok", None, "", "organic"]
    features.loc[features.index[4], features.columns[features.dtypes == float][0]] = np.nan
    return features


def test_litert_predictions_match_the_keras_model(fitted, exported, data):
    folder = exported
    features = odd_rows(data.snapshot)
    assert "attr_channel" in fitted.inputs_.categories
    expected = fitted.predict(features)
    light = LightDeepModel.load(folder)
    assert light.name == fitted.name and light.feature_names_ == fitted.feature_names_
    assert_parity(light.predict(features), expected)
    assert_parity(light.predict(features.iloc[:1]), expected.iloc[:1].reset_index(drop=True))
    assert len(light.predict(features.iloc[:0])) == 0
    # The export rebuilt a copy: the trained network still gives the same predictions.
    assert_parity(fitted.predict(features), expected)


def test_the_light_folder_is_checksummed_and_self_describing(fitted, exported):
    import json

    folder = exported
    manifest = json.loads((folder / "model.json").read_text())
    assert set(manifest["files"]) == {artifact.NETWORK_FILE}
    assert manifest["family"] == artifact.FAMILY and manifest["runtime"] == "litert"
    names = [spec["name"] for spec in manifest["inputs"]]
    assert set(names) == set(fitted.network_.input)
    assert {s["name"]: s["dtype"] for s in manifest["inputs"]}["attr_channel"] == "int64"
    assert manifest["vocabularies"]["attr_channel"] == fitted.inputs_.categories["attr_channel"]
    assert not list(folder.parent.glob(".*tmp*"))  # written atomically, nothing left behind


def test_string_ids_follow_string_lookup(fitted):
    lookup = fitted.network_.get_layer("attr_channel_lookup")
    vocabulary = fitted.inputs_.categories["attr_channel"]
    values = np.array([[v] for v in vocabulary + ["", "unseen", vocabulary[0].upper()]],
                      dtype=object)
    expected = np.asarray(lookup(values))
    np.testing.assert_array_equal(artifact.string_ids(values, vocabulary), expected)


def test_light_network_unrolls_the_gru_and_takes_ids(fitted):
    model = fitted
    light, vocabularies = light_network(model.network_)
    if model.sequence_encoder == "gru":
        assert light.get_layer("gru").unroll and not model.network_.get_layer("gru").unroll
    assert all(light.input[name].dtype == "int64" for name in vocabularies)
    assert not any(isinstance(layer, keras.layers.StringLookup) for layer in light.layers)


def test_a_damaged_or_missing_light_folder_is_refused(exported, tmp_path):
    folder = Path(shutil.copytree(exported, tmp_path / "light"))
    network = folder / artifact.NETWORK_FILE
    data = bytearray(network.read_bytes())
    data[len(data) // 2] ^= 0x01
    network.write_bytes(bytes(data))
    with pytest.raises(CorruptModelError, match="network.tflite' does not match its checksum"):
        LightDeepModel.load(folder)
    os.remove(network)
    with pytest.raises(CorruptModelError, match="network.tflite' is missing"):
        LightDeepModel.load(folder)
    with pytest.raises(CorruptModelError, match="no light-runtime export"):
        LightDeepModel.load(tmp_path / "nowhere")


def test_only_deep_models_export_to_litert(data):
    from ltv.models.btyd_model import BTYDModel

    with pytest.raises(LTVError, match="only deep models"):
        export_light(BTYDModel().fit(data), "unused")
