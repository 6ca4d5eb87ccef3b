import pytest

from ltv.errors import ConfigError
from ltv.settings import require_pii_key


@pytest.mark.parametrize("key", [None, "", "changeme", "CHANGEME", "short-key"])
def test_unsafe_keys_are_refused(key, monkeypatch):
    monkeypatch.delenv("LTV_PII_KEY", raising=False)
    with pytest.raises(ConfigError, match="LTV_PII_KEY"):
        require_pii_key(key)


def test_key_from_environment(monkeypatch):
    monkeypatch.setenv("LTV_PII_KEY", "0123456789abcdef0123")
    assert require_pii_key() == b"0123456789abcdef0123"


def test_error_never_echoes_the_key(monkeypatch):
    monkeypatch.delenv("LTV_PII_KEY", raising=False)
    with pytest.raises(ConfigError) as err:
        require_pii_key("tiny-secret")
    assert "tiny-secret" not in str(err.value)
