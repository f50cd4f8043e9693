"""API tokens: shown once, stored as a hash, expiring, and dead once the password changes or the
user is deactivated."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.core.checks import run_checks
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken
from accounts.roles import Role
from audit.events import EventType
from audit.models import AuditEvent
from tests.factories import password_works

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"  # tests/factories.py


def _new_token(username: str) -> str:
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": username, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()["token"]


def _calls(token: str) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client.get("/api/v1/card-requests/").status_code


def test_only_a_hash_of_the_token_is_stored_and_each_call_makes_a_new_one(users):
    first = _new_token("auditor")
    second = _new_token("auditor")
    assert first != second
    stored = ApiToken.objects.get(prefix=first[:8])
    assert stored.key_hash == hashlib.sha256(first.encode()).hexdigest()
    assert first not in str(list(ApiToken.objects.values()))
    event = AuditEvent.objects.filter(event=EventType.API_TOKEN_CREATED).first()
    assert first not in str(event.payload)
    assert _calls(first) == 200
    assert _calls(second) == 200


def test_a_token_expires(users, settings):
    settings.CARDFORGE_API_TOKEN_TTL_HOURS = 2
    token = _new_token("auditor")
    stored = ApiToken.objects.get(prefix=token[:8])
    assert stored.expires_at - stored.created_at == timedelta(hours=2)
    ApiToken.objects.filter(pk=stored.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert _calls(token) == 401


def test_a_token_dies_when_the_user_is_deactivated(users):
    token = _new_token("auditor")
    user = users[Role.AUDITOR]
    user.is_active = False
    user.save()
    user.is_active = True
    user.save()
    assert _calls(token) == 401
    event = AuditEvent.objects.get(event=EventType.API_TOKENS_REVOKED)
    assert event.payload["cause"] == "user deactivated"


def test_use_is_recorded(users):
    token = _new_token("auditor")
    assert ApiToken.objects.get(prefix=token[:8]).last_used_at is None
    _calls(token)
    assert ApiToken.objects.get(prefix=token[:8]).last_used_at is not None


def test_an_upgraded_password_hash_at_sign_in_keeps_the_tokens(users, settings):
    token = _new_token("auditor")
    # Sign-in re-hashes a password stored under an older hasher: that is no password change.
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.ScryptPasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    assert password_works("auditor", PASSWORD)
    assert (
        users[Role.AUDITOR].__class__.objects.get(username="auditor").password.startswith("scrypt$")
    )
    assert _calls(token) == 200


def test_a_password_changed_outside_the_application_is_audited_once(users):
    auditor = users[Role.AUDITOR]
    token = _new_token("auditor")
    auditor.set_password("changed from a shell 123")  # as `manage.py changepassword` does
    auditor.save()
    assert _calls(token) == 401
    (event,) = AuditEvent.objects.filter(event=EventType.USER_PASSWORD_RESET)
    assert event.payload == {
        "username": "auditor",
        "method": "outside the application (command or shell)",
    }
    revoked = AuditEvent.objects.get(event=EventType.API_TOKENS_REVOKED)
    assert revoked.payload["cause"] == "password changed"


def test_check_deploy_flags_an_email_backend_that_keeps_reset_links_local(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    assert "accounts.W001" in {problem.id for problem in run_checks(include_deployment_checks=True)}
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    assert "accounts.W001" not in {
        problem.id for problem in run_checks(include_deployment_checks=True)
    }
