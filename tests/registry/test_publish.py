"""Publishing: numbered immutable versions, manifests, read-only files, concurrency, crashes."""

from __future__ import annotations

import errno
import hashlib
import multiprocessing
import platform
import shutil
import stat
import sys
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from ltv.models.persistence import CorruptModelError
from ltv.registry import Registry, RegistryError, publish as publish_module

from .conftest import FEATURES, HORIZON, flip_byte

MODEL_FILES = {"model/model.json", "model/state.json"}


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_two_publishes_give_versions_1_and_2_with_manifests_and_checksums(registry, saved_model):
    meta = {"cutoff": "2022-10-01", "fingerprint": "abc123",
            "metrics": {"gini": 0.61, "spearman": float("nan")}, "at": pd.Timestamp("2022-10-01")}
    before = datetime.now(timezone.utc).replace(microsecond=0)
    assert registry.publish("shop", saved_model.path, metadata=meta) == 1
    assert registry.publish("shop", saved_model.path) == 2
    assert registry.versions("shop") == [1, 2]
    assert registry.names() == ["shop"]
    assert sorted(p.name for p in (registry.root / "shop").iterdir()) == ["1", "2"]

    for version in (1, 2):
        folder = registry.root / "shop" / str(version)
        manifest = registry.manifest("shop", version)
        assert manifest["name"] == "shop" and manifest["version"] == version
        created = datetime.fromisoformat(manifest["created_at"])
        assert created.utcoffset() == timedelta(0)
        assert before <= created <= datetime.now(timezone.utc) + timedelta(seconds=1)
        assert (manifest["family"], manifest["class"]) == ("btyd", "BTYDModel")
        assert manifest["feature_names"] == FEATURES
        assert manifest["horizon_days"] == HORIZON
        assert set(manifest["files"]) == MODEL_FILES
        for rel, digest in manifest["files"].items():
            assert digest == _sha(folder / rel)
            assert (folder / rel).read_bytes() == (saved_model.path / rel.split("/")[1]).read_bytes()
        libs = manifest["libraries"]
        assert libs["python"] == platform.python_version()
        assert libs["numpy"] == np.__version__ and libs["pandas"] == pd.__version__
        assert {"ltv", "duckdb", "lightgbm"} <= set(libs)
        assert ("tensorflow" in libs) == ("tensorflow" in sys.modules)

    assert registry.manifest("shop", 1)["metadata"] == {
        "cutoff": "2022-10-01", "fingerprint": "abc123",
        "metrics": {"gini": 0.61, "spearman": None}, "at": "2022-10-01 00:00:00"}
    assert registry.manifest("shop", 2)["metadata"] == {}


def test_published_files_are_read_only(registry, saved_model):
    version = registry.publish("shop", saved_model.path)
    paths = [p for p in registry.path("shop", version).rglob("*") if p.is_file()]
    assert {p.relative_to(registry.path("shop", version)).as_posix() for p in paths} == \
        MODEL_FILES | {"manifest.json"}
    for path in paths:
        assert stat.S_IMODE(path.stat().st_mode) == 0o444, path


def test_publish_never_overwrites_even_with_a_stale_view_of_the_versions(registry, saved_model,
                                                                         monkeypatch):
    registry.publish("shop", saved_model.path, metadata={"run": "first"})
    first = registry.path("shop", 1)
    snapshot = {p: p.read_bytes() for p in first.rglob("*") if p.is_file()}
    # Another publisher's view: it still believes there are no versions and picks 1.
    real = publish_module.layout.list_versions
    calls = []

    def stale(model_root):
        calls.append(1)
        return [] if len(calls) == 1 else real(model_root)

    monkeypatch.setattr(publish_module.layout, "list_versions", stale)
    assert registry.publish("shop", saved_model.path, metadata={"run": "second"}) == 2
    assert {p: p.read_bytes() for p in first.rglob("*") if p.is_file()} == snapshot
    assert registry.manifest("shop", 1)["metadata"] == {"run": "first"}
    assert registry.manifest("shop", 2)["metadata"] == {"run": "second"}
    assert registry.manifest("shop", 2)["version"] == 2
    assert registry.verify("shop") == [1, 2]


def test_concurrent_publishers_in_two_processes_get_distinct_versions(registry, saved_model):
    jobs = [("shop", saved_model.path, {"job": i}) for i in range(8)]
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        versions = pool.starmap(registry.publish, jobs)
    assert sorted(versions) == list(range(1, 9))
    assert registry.versions("shop") == list(range(1, 9))
    assert registry.verify("shop") == list(range(1, 9))
    by_job = {registry.manifest("shop", v)["metadata"]["job"]: v for v in versions}
    assert by_job == dict(enumerate(versions))
    assert not [p for p in (registry.root / "shop").iterdir() if p.name.startswith(".publish-")]


def test_a_crash_while_copying_leaves_no_version_and_the_next_publish_works(registry, saved_model,
                                                                            monkeypatch):
    def half_copy(src, dst, **kwargs):
        dst.mkdir()
        shutil.copy2(src / "model.json", dst / "model.json")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(publish_module.shutil, "copytree", half_copy)
    with pytest.raises(OSError, match="No space left"):
        registry.publish("shop", saved_model.path)
    assert registry.versions("shop") == []
    assert list((registry.root / "shop").iterdir()) == []  # the temp folder was cleaned up
    monkeypatch.undo()
    assert registry.publish("shop", saved_model.path) == 1
    assert registry.verify("shop") == [1]


def test_a_crash_at_the_rename_leaves_no_version(registry, saved_model, monkeypatch):
    def fail(tmp, target):
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(publish_module, "_claim", fail)
    with pytest.raises(OSError, match="I/O error"):
        registry.publish("shop", saved_model.path)
    assert registry.versions("shop") == []
    assert list((registry.root / "shop").iterdir()) == []


def test_folders_left_by_a_killed_publisher_are_never_versions(registry, saved_model):
    # What `kill -9` during a publish leaves: a complete-looking but hidden temp folder.
    leftover = registry.root / "shop" / ".publish-k1ll3d"
    shutil.copytree(saved_model.path, leftover / "model")
    (leftover / "manifest.json").write_text('{"name": "shop", "version": 1}')
    (registry.root / "shop" / "01").mkdir()  # not a canonical version number either
    assert registry.versions("shop") == []
    assert registry.publish("shop", saved_model.path) == 1
    assert registry.versions("shop") == [1]
    assert registry.verify("shop") == [1]


def test_a_corrupt_source_model_is_refused_before_anything_is_written(registry, saved_model,
                                                                      tmp_path):
    source = tmp_path / "damaged"
    shutil.copytree(saved_model.path, source)
    flip_byte(source / "state.json")
    with pytest.raises(CorruptModelError, match="state.json"):
        registry.publish("shop", source)
    assert registry.versions("shop") == []
    with pytest.raises(CorruptModelError, match="not a saved ltv model"):
        registry.publish("shop", tmp_path / "nowhere")


@pytest.mark.parametrize("name", ["", ".hidden", "a/b", "..", "shop v2"])
def test_unsafe_model_names_are_refused(registry, saved_model, name):
    with pytest.raises(RegistryError, match="model name"):
        registry.publish(name, saved_model.path)
    assert not registry.root.exists() or list(registry.root.rglob("*")) == []


def test_metadata_must_be_a_dict(registry, saved_model):
    with pytest.raises(RegistryError, match="metadata must be a dict"):
        registry.publish("shop", saved_model.path, metadata=[("cutoff", "2022-10-01")])
    assert registry.versions("shop") == []


def test_registry_with_nothing_published(registry):
    assert registry.versions("shop") == [] and registry.names() == []
    assert registry.champion("shop") is None
    assert Registry(registry.root / "missing").versions("x") == []
