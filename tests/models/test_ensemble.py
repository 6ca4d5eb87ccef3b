"""`auto` without TensorFlow: the deep candidate is dropped with a warning, not a crash."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from ltv.errors import LTVError
from ltv.models import ensemble


def test_deep_is_left_out_when_tensorflow_is_missing(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "keras" else real(name, *a))
    with pytest.warns(UserWarning, match="without the deep family"):
        assert ensemble.available(("btyd", "deep", "gbdt")) == ["btyd", "gbdt"]
    assert ensemble.available(("btyd", "gbdt")) == ["btyd", "gbdt"]


def test_deep_alone_without_tensorflow_says_how_to_install(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "keras" else real(name, *a))
    monkeypatch.setitem(sys.modules, "keras", None)  # `import keras` now raises ImportError
    with pytest.warns(UserWarning), pytest.raises(LTVError, match=r"ltv\[deep\]"):
        ensemble.available(("deep",))

