"""Only the signer holds the KEK and the HSM PIN (docs/signer.md): its secrets come from a file
of its own, and a station's worker does not start where they are readable."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command

from config import env
from personalization.station_host import station_host_check


@pytest.fixture
def no_secrets(monkeypatch):
    """This process as a station's host would be: none of the signer's secrets anywhere."""
    monkeypatch.setattr(env, "_signer_secrets", {})
    monkeypatch.setattr(env, "_dotenv", {})
    for name in env.SIGNER_SECRET_NAMES:
        monkeypatch.delenv(name, raising=False)


def test_the_signers_file_names_only_the_signers_secrets(tmp_path, no_secrets):
    secrets = tmp_path / "signer.env"
    secrets.write_text("CARDFORGE_KEK=" + "A" * 43 + "=\nSECRET_KEY=not-here\n")
    with pytest.raises(ImproperlyConfigured, match="line 2: SECRET_KEY is not one of the signer"):
        env.load_signer_secrets(secrets)
    with pytest.raises(ImproperlyConfigured, match="is not a readable file"):
        env.load_signer_secrets(tmp_path / "missing.env")


def test_a_station_host_without_the_signers_secrets_starts(no_secrets, settings):
    settings.CARDFORGE_DEVELOPMENT_SHARED_HOST = False
    assert env.signer_secrets_present() == []
    station_host_check()


def test_a_station_host_that_can_read_the_kek_or_the_hsm_pin_is_refused(
    tmp_path, no_secrets, settings, monkeypatch
):
    settings.CARDFORGE_DEVELOPMENT_SHARED_HOST = False
    secrets = tmp_path / "signer.env"
    secrets.write_text("CARDFORGE_PKCS11_PIN=1234\n")
    env.load_signer_secrets(secrets)
    with pytest.raises(
        ImproperlyConfigured, match=r"secrets are readable \(CARDFORGE_PKCS11_PIN\)"
    ):
        station_host_check()
    monkeypatch.setenv("CARDFORGE_KEK", "A" * 43 + "=")
    with pytest.raises(ImproperlyConfigured, match="CARDFORGE_KEK, CARDFORGE_PKCS11_PIN"):
        station_host_check()
    # run_station says so before it becomes the worker.
    with pytest.raises(CommandError, match="only the signer holds them"):
        call_command("run_station", "any")
    # A development machine may say, on purpose, that station and signer share it.
    settings.CARDFORGE_DEVELOPMENT_SHARED_HOST = True
    station_host_check()
