"""Secrets stay off error pages: `.env` is read into the settings without entering os.environ
(which runserver copies into every request's META, shown on the DEBUG page), and the exception
reporter filter hides KEK, PIN, PUK, token, OTP and master-key values wherever they appear."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import RequestFactory
from django.views.debug import technical_500_response

from config import env

ROOT = Path(__file__).resolve().parent.parent
KEK = base64.b64encode(b"K" * 32).decode()


@pytest.fixture
def fresh_dotenv(monkeypatch):
    """config.env's .env values, emptied for the test and restored after it."""
    monkeypatch.setattr(env, "_dotenv", {})
    monkeypatch.setattr(env, "_signer_secrets", {})
    monkeypatch.delenv("CARDFORGE_KEK", raising=False)
    monkeypatch.delenv("X_FROM_FILE", raising=False)


def test_dotenv_values_reach_the_readers_but_not_os_environ(tmp_path, fresh_dotenv):
    dotenv = tmp_path / ".env"
    dotenv.write_text(f"CARDFORGE_KEK={KEK}\nX_FROM_FILE=from the file\n")
    env.load_dotenv(dotenv)
    assert "CARDFORGE_KEK" not in os.environ
    assert "X_FROM_FILE" not in os.environ
    assert env.env_str("X_FROM_FILE") == "from the file"
    assert env.env_key("CARDFORGE_KEK", length=32).reveal() == b"K" * 32


def test_settings_leave_a_dotenv_kek_out_of_the_environment(tmp_path):
    """The real start-up, in a child whose only KEK is the one in a .env file."""
    code = (
        "import os, sys, django; from pathlib import Path; import config.settings as s; "
        "django.setup(); print('CARDFORGE_KEK' in os.environ, s.CARDFORGE_KEK is not None)"
    )
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CARDFORGE_KEK")}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**environment, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    # Its KEK comes from the signer's secrets file the test run names (make test), or from an
    # .env written before the signer existed.
    dotenv = ROOT / ".env"
    if not os.environ.get("CARDFORGE_SIGNER_SECRETS_FILE") and (
        not dotenv.is_file() or "CARDFORGE_KEK=" not in dotenv.read_text()
    ):
        pytest.skip("no KEK in a .env or a signer's secrets file (make writes one)")
    assert result.stdout.split() == ["False", "True"]


def _page_for(request, **secrets) -> str:
    def failing_view(kek, pin, new_puk, totp_secret, password, token):
        context = {"pin": pin, "puk": new_puk}  # a dict holding secrets under their names
        raise RuntimeError(f"boom with {len(context)} entries")

    try:
        failing_view(**secrets)
    except RuntimeError:
        return technical_500_response(request, *sys.exc_info()).content.decode()
    raise AssertionError


SECRET_META = {
    "CARDFORGE_KEK": KEK,  # runserver copies os.environ into META
    "CARDFORGE_MASTER_KEY": "master-key-value-1",
    "PKCS11_USER_PIN": "hsm-pin-4321",
    "HTTP_X_OTP": "otp-code-771133",
    "CARDFORGE_DEFAULT_PUK": "puk-value-99887766",
}


def test_the_debug_page_shows_no_secret_from_meta_or_frames(settings):
    settings.DEBUG = True
    request = RequestFactory().get("/boom/", **SECRET_META)
    page = _page_for(
        request,
        kek=b"raw-kek-bytes-here",
        pin="pin-482913",
        new_puk="puk-73015528",
        totp_secret="totp-secret-JBSWY3DP",
        password="password-hunter2",
        token="token-abcdef123456",
    )
    assert "boom" in page  # the page is the technical 500 page
    for value in [
        *SECRET_META.values(),
        "raw-kek-bytes-here",
        "pin-482913",
        "puk-73015528",
        "totp-secret-JBSWY3DP",
        "password-hunter2",
        "token-abcdef123456",
    ]:
        assert value not in page, value


def test_the_debug_page_through_the_test_client(settings, client):
    settings.DEBUG = True
    client.raise_request_exception = False
    response = client.get("/api/v1/no-such/", HTTP_AUTHORIZATION="Token tok-secret-123")
    assert b"tok-secret-123" not in response.content


def test_the_configured_filter_is_ours(settings):
    from django.views.debug import get_exception_reporter_filter

    assert type(get_exception_reporter_filter(None)).__module__ == "config.error_reports"
