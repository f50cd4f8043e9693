"""The PKI's environment variables are read once, typed, and refused with a clear message."""

from __future__ import annotations

import base64

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import Secret, env_http_url, env_key


def test_kek_is_base64_of_32_bytes_and_hidden(monkeypatch):
    raw = bytes(range(32))
    monkeypatch.setenv("TEST_KEK", base64.b64encode(raw).decode())
    secret = env_key("TEST_KEK", length=32)
    assert isinstance(secret, Secret)
    assert secret.reveal() == raw
    assert repr(secret) == str(secret) == "Secret('********')"
    monkeypatch.delenv("TEST_KEK")
    assert env_key("TEST_KEK", length=32) is None


@pytest.mark.parametrize(
    ("value", "message"),
    [("not base64!", "must be base64"), (base64.b64encode(b"short").decode(), "32 bytes, not 5")],
)
def test_bad_kek_stops_start_up_naming_the_variable(monkeypatch, value, message):
    monkeypatch.setenv("TEST_KEK", value)
    with pytest.raises(ImproperlyConfigured, match=f"TEST_KEK.*{message}"):
        env_key("TEST_KEK", length=32)


def test_kek_from_a_file(monkeypatch, tmp_path):
    path = tmp_path / "kek"
    path.write_text(base64.b64encode(b"k" * 32).decode() + "\n")
    monkeypatch.delenv("TEST_KEK", raising=False)
    monkeypatch.setenv("TEST_KEK_FILE", str(path))
    assert env_key("TEST_KEK", length=32).reveal() == b"k" * 32


def test_urls_must_be_absolute_http(monkeypatch):
    monkeypatch.setenv("TEST_URL", "pki.example.org")
    with pytest.raises(ImproperlyConfigured, match="TEST_URL must be an absolute"):
        env_http_url("TEST_URL", "http://localhost")
    monkeypatch.setenv("TEST_URL", "http://pki.example.org/")
    assert env_http_url("TEST_URL", "http://localhost") == "http://pki.example.org"
