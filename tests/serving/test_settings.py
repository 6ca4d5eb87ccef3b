"""The server refuses to start with a missing, example or short admin token, except in dev."""

from __future__ import annotations

import pytest

from ltv.errors import ConfigError
from ltv.serving.settings import ServeSettings


@pytest.mark.parametrize("token, why", [(None, "is not set"), ("changeme", "example value"),
                                        ("short-token", "too short")])
def test_unsafe_tokens_are_refused(token, why, monkeypatch):
    monkeypatch.delenv("LTV_SERVE_ADMIN_TOKEN", raising=False)
    with pytest.raises(ConfigError, match=why) as err:
        ServeSettings(admin_token=token).checked_token()
    assert "LTV_SERVE_ADMIN_TOKEN" in err.value.fix


def test_dev_mode_generates_a_random_token(monkeypatch):
    monkeypatch.delenv("LTV_SERVE_ADMIN_TOKEN", raising=False)
    first = ServeSettings(dev_mode=True).checked_token()
    second = ServeSettings(dev_mode=True).checked_token()
    assert len(first) >= 16 and first != second


def test_token_from_the_environment(monkeypatch):
    monkeypatch.setenv("LTV_SERVE_ADMIN_TOKEN", "x" * 8 + "-from-the-env")
    assert ServeSettings().checked_token() == "x" * 8 + "-from-the-env"
