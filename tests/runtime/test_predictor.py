"""load_predictor serves every family from a registry version; deep networks run in LiteRT."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from ltv.models.persistence import CorruptModelError
from ltv.models.protocol import PREDICTION_COLUMNS
from ltv.registry.errors import CorruptVersionError
from ltv.runtime import Predictor, load_predictor
from ltv.runtime.artifact import LIGHT_DIR, NETWORK_FILE

pytest.importorskip("ai_edge_litert", reason="the light runtime needs ai-edge-litert")

NUMERIC = ["ltv", "ltv_lo", "ltv_hi", "p_active"]


def assert_parity(actual: pd.DataFrame, expected: pd.DataFrame, rtol: float) -> None:
    assert list(actual.columns) == PREDICTION_COLUMNS
    np.testing.assert_array_equal(actual["customer_id"], expected["customer_id"])
    np.testing.assert_array_equal(actual["model"], expected["model"])
    for col in NUMERIC:
        np.testing.assert_allclose(actual[col], expected[col], rtol=rtol, atol=1e-6,
                                   err_msg=col)


@pytest.mark.parametrize("key, rtol", [("btyd", 1e-12), ("deep", 1e-4), ("ensemble", 1e-4)])
def test_a_predictor_gives_the_in_memory_models_predictions(shop, key, rtol):
    published = shop.versions[key]
    predictor = load_predictor(published.version_dir)
    assert isinstance(predictor, Predictor)
    assert predictor.family == published.model.family
    assert predictor.name == published.model.name
    assert predictor.feature_names == list(published.model.feature_names_)
    assert_parity(predictor.predict(shop.features), published.model.predict(shop.features), rtol)


def test_deep_networks_are_exported_per_member(shop):
    assert (shop.versions["deep"].version_dir / LIGHT_DIR / NETWORK_FILE).is_file()
    assert (shop.versions["ensemble"].version_dir / LIGHT_DIR / "deep" / NETWORK_FILE).is_file()
    assert not (shop.versions["btyd"].version_dir / LIGHT_DIR).exists()
    manifest = shop.registry.manifest("ensemble", 1)
    assert f"{LIGHT_DIR}/deep/{NETWORK_FILE}" in manifest["files"]
    assert shop.registry.verify("ensemble") == [1]


def test_the_runtime_never_imports_tensorflow(shop, tmp_path):
    """A fresh process loads the deep and the ensemble versions and predicts, TF-free."""
    shop.features.to_pickle(tmp_path / "features.pkl")
    for key in ("deep", "ensemble"):
        shop.versions[key].model.predict(shop.features).to_pickle(tmp_path / f"{key}.pkl")
    code = textwrap.dedent(f"""
        import sys
        import numpy as np, pandas as pd
        from ltv.runtime import load_predictor
        features = pd.read_pickle({str(tmp_path / "features.pkl")!r})
        for key, folder in {{"deep": {str(shop.versions["deep"].version_dir)!r},
                            "ensemble": {str(shop.versions["ensemble"].version_dir)!r}}}.items():
            got = load_predictor(folder).predict(features)
            expected = pd.read_pickle({str(tmp_path)!r} + f"/{{key}}.pkl")
            np.testing.assert_allclose(got["ltv"], expected["ltv"], rtol=1e-4, atol=1e-6)
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras"))
        assert not loaded, loaded
        assert "ai_edge_litert" in sys.modules
        print("ok")
    """)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("ok")


def _writable_copy(version_dir, tmp_path):
    copy = tmp_path / "shop" / "1"
    shutil.copytree(version_dir, copy)
    for path in copy.rglob("*"):
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    return copy


def test_a_damaged_light_export_is_refused(shop, tmp_path):
    version = _writable_copy(shop.versions["deep"].version_dir, tmp_path)
    network = version / LIGHT_DIR / NETWORK_FILE
    data = bytearray(network.read_bytes())
    data[100] ^= 0x01
    network.write_bytes(bytes(data))
    with pytest.raises(CorruptVersionError, match=f"{LIGHT_DIR}/{NETWORK_FILE}"):
        load_predictor(version)
    shutil.rmtree(version / LIGHT_DIR)
    with pytest.raises(CorruptVersionError, match="is missing"):
        load_predictor(version)


def test_a_version_without_light_export_is_refused_with_what_to_do(shop, tmp_path):
    """A folder published before the light export existed (no manifest to verify against)."""
    version = _writable_copy(shop.versions["ensemble"].version_dir, tmp_path)
    os.remove(version / "manifest.json")
    shutil.rmtree(version / LIGHT_DIR)
    with pytest.raises(CorruptModelError, match="no light-runtime export") as err:
        load_predictor(version)
    assert "ltv export" in str(err.value)


def test_a_folder_that_is_not_a_version_is_refused(tmp_path):
    with pytest.raises(CorruptModelError, match="not a published model version"):
        load_predictor(tmp_path)
