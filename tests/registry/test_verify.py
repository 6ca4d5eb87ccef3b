"""verify: every damage to a published version is found and named (version and file)."""

from __future__ import annotations

import json
import os

import pytest

from ltv.errors import LTVError
from ltv.registry import CorruptVersionError, RegistryError

from .conftest import flip_byte, writable


@pytest.fixture
def published(registry, saved_model):
    assert [registry.publish("shop", saved_model.path) for _ in range(2)] == [1, 2]
    return registry


def _damage(published, version, file):
    with pytest.raises(CorruptVersionError) as caught:
        published.verify("shop", version)
    err = caught.value
    assert isinstance(err, LTVError)
    assert (err.name, err.version, err.file) == ("shop", version, file)
    assert f"'shop' version {version}" in str(err) and "fix:" in str(err)
    if file:
        assert f"file '{file}'" in str(err)
    return err


def test_intact_versions_verify(published):
    assert published.verify("shop") == [1, 2]
    assert published.verify("shop", 2) == [2]


def test_a_flipped_byte_is_found(published):
    flip_byte(published.path("shop", 2) / "model" / "state.json")
    err = _damage(published, 2, "model/state.json")
    assert "does not match its checksum" in str(err)
    assert published.verify("shop", 1) == [1]
    with pytest.raises(CorruptVersionError) as caught:  # all versions: stops at the bad one
        published.verify("shop")
    assert caught.value.version == 2


def test_a_flipped_byte_in_the_model_manifest_is_found(published):
    flip_byte(published.path("shop", 1) / "model" / "model.json", offset=3)
    _damage(published, 1, "model/model.json")


def test_a_deleted_file_is_found(published):
    os.remove(published.path("shop", 1) / "model" / "state.json")
    err = _damage(published, 1, "model/state.json")
    assert "is missing" in str(err)


def test_a_missing_manifest_is_found(published):
    os.remove(published.path("shop", 2) / "manifest.json")
    err = _damage(published, 2, "manifest.json")
    assert "missing" in str(err) and "partial" in str(err)
    with pytest.raises(CorruptVersionError, match="manifest.json"):
        published.manifest("shop", 2)


def test_an_unreadable_manifest_is_found(published):
    writable(published.path("shop", 1) / "manifest.json").write_text("{not json")
    _damage(published, 1, "manifest.json")


def test_a_manifest_edited_to_drop_a_file_is_found(published):
    path = published.path("shop", 1) / "manifest.json"
    manifest = json.loads(path.read_text())
    del manifest["files"]["model/model.json"]
    writable(path).write_text(json.dumps(manifest))
    _damage(published, 1, "model/model.json")


def test_a_version_copied_to_another_number_is_found(published):
    import shutil

    shutil.copytree(published.path("shop", 1), published.root / "shop" / "3")
    err = _damage(published, 3, "manifest.json")
    assert "version 1" in str(err)


def test_an_added_file_is_found(published):
    (published.path("shop", 1) / "model" / "extra.bin").write_bytes(b"\0")
    err = _damage(published, 1, "model/extra.bin")
    assert "not listed" in str(err)


def test_a_partial_version_folder_is_found(published):
    (published.root / "shop" / "3").mkdir()  # e.g. copied by hand, interrupted
    assert published.versions("shop") == [1, 2, 3]
    _damage(published, 3, "manifest.json")


def test_unknown_models_and_versions_are_clear_errors(published):
    with pytest.raises(RegistryError, match="(?s)has no version 7.*known versions: 1, 2"):
        published.verify("shop", 7)
    with pytest.raises(RegistryError, match="has no model 'other'"):
        published.verify("other")
    with pytest.raises(RegistryError, match="not a positive integer"):
        published.verify("shop", 0)
