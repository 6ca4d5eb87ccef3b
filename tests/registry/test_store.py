"""Champion pointer (promote, rollback) and loading a published model."""

from __future__ import annotations

import json
import os

import pandas as pd
import pytest

from ltv.models.btyd_model import BTYDModel
from ltv.registry import CorruptVersionError, Registry, RegistryError

from .conftest import flip_byte


@pytest.fixture
def published(registry, saved_model):
    assert [registry.publish("shop", saved_model.path) for _ in range(3)] == [1, 2, 3]
    return registry


def _pointer(registry):
    return json.loads((registry.root / "shop" / "pointer.json").read_text())


def test_promote_and_rollback_sequence(published):
    assert published.champion("shop") is None
    assert published.promote("shop", 1) == 1
    assert published.champion("shop") == 1
    assert {k: _pointer(published)[k] for k in ("champion", "history")} == \
        {"champion": 1, "history": []}
    published.promote("shop", 2)
    assert (published.champion("shop"), published.history("shop")) == (2, [1])
    assert published.rollback("shop") == 1
    assert (published.champion("shop"), published.history("shop")) == (1, [])
    with pytest.raises(RegistryError, match="no previous champion") as caught:
        published.rollback("shop")
    assert "version 1 is the first champion" in str(caught.value)
    assert published.champion("shop") == 1


def test_history_is_a_stack(published):
    for version in (1, 2, 3, 3):  # promoting the champion again changes nothing
        published.promote("shop", version)
    assert (published.champion("shop"), published.history("shop")) == (3, [1, 2])
    assert [published.rollback("shop"), published.rollback("shop")] == [2, 1]
    with pytest.raises(RegistryError, match="no previous champion"):
        published.rollback("shop")


def test_pointer_writes_leave_no_temp_files(published):
    published.promote("shop", 1)
    published.promote("shop", 2)
    published.rollback("shop")
    names = sorted(p.name for p in (published.root / "shop").iterdir())
    assert names == [".pointer.lock", "1", "2", "3", "pointer.json"]


def test_rollback_before_any_promote_is_a_clear_error(published):
    with pytest.raises(RegistryError, match="no version was ever promoted"):
        published.rollback("shop")


def test_promote_refuses_unknown_versions(published):
    published.promote("shop", 2)
    with pytest.raises(RegistryError, match="(?s)'shop' has no version 9.*known versions: 1, 2, 3"):
        published.promote("shop", 9)
    with pytest.raises(RegistryError, match="no model 'other'"):
        published.promote("other", 1)
    assert (published.champion("shop"), published.history("shop")) == (2, [])


def test_promote_and_rollback_refuse_corrupt_versions(published):
    published.promote("shop", 1)
    published.promote("shop", 2)
    flip_byte(published.path("shop", 3) / "model" / "state.json")
    with pytest.raises(CorruptVersionError, match="version 3"):
        published.promote("shop", 3)
    assert published.champion("shop") == 2
    os.remove(published.path("shop", 1) / "manifest.json")
    with pytest.raises(CorruptVersionError, match="version 1"):
        published.rollback("shop")
    assert (published.champion("shop"), published.history("shop")) == (2, [1])


def test_load_returns_a_model_that_predicts_like_the_source(published, saved_model):
    with pytest.raises(RegistryError, match="no champion"):
        published.load("shop")
    published.promote("shop", 2)
    expected = saved_model.model.predict(saved_model.features)
    for model in (published.load("shop"), published.load("shop", 1)):
        assert isinstance(model, BTYDModel)
        pd.testing.assert_frame_equal(model.predict(saved_model.features), expected)
    # a fresh Registry object on the same folder sees the same champion
    assert Registry(published.root).champion("shop") == 2


def test_load_refuses_a_corrupt_version(published):
    published.promote("shop", 2)
    flip_byte(published.path("shop", 2) / "model" / "state.json")
    with pytest.raises(CorruptVersionError, match="model/state.json"):
        published.load("shop")


def test_an_unreadable_pointer_is_a_clear_error(published):
    published.promote("shop", 1)
    (published.root / "shop" / "pointer.json").write_text('{"champion": "x", "history": []}')
    with pytest.raises(RegistryError, match="pointer.json cannot be read"):
        published.champion("shop")
