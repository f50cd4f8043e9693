"""Attacks on sign-in by guessing passwords: on the login form, on the token endpoint, through a
forged X-Forwarded-For. Ten failures lock the username; the lock holds against the right password
until the cool-off has passed or an administrator unlocks it, and both are in the audit chain."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from audit.events import EventType
from audit.models import AuditEvent
from tests.factories import make_user, sign_in_verified

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
TOKEN_URL = "/api/v1/auth/token/"
LIMIT = 10  # CARDFORGE_LOGIN_FAILURE_LIMIT's default


def _form_login(client, username: str, password: str, **headers):
    return client.post(reverse("login"), {"username": username, "password": password}, **headers)


def _token(api, username: str, password: str, **extra):
    return api.post(TOKEN_URL, {"username": username, "password": password, **extra})


def _signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def _lock_on_form(client, username: str, **headers):
    for _ in range(LIMIT):
        response = _form_login(client, username, "hunter2-wrong", **headers)
    return response


def test_ten_wrong_passwords_lock_the_account_on_the_login_form(client, users):
    username = users[Role.ENROLMENT_OFFICER].username
    for _ in range(LIMIT - 1):
        response = _form_login(client, username, "hunter2-wrong")
        assert response.status_code == 200  # the form again, not yet locked
    response = _form_login(client, username, "hunter2-wrong")
    assert response.status_code == 429
    page = response.content.decode()
    assert "This account is locked" in page
    assert 'name="username"' in page  # the login form, with the message on it

    # The right password no longer opens the account.
    response = _form_login(client, username, PASSWORD)
    assert response.status_code == 429
    assert "This account is locked" in response.content.decode()
    assert not _signed_in(client)

    locked = AuditEvent.objects.filter(event=EventType.USER_LOCKED_OUT)
    assert locked.count() == 1  # the lock, once; later refusals are failed sign-ins
    event = locked.get()
    assert event.payload["username"] == username
    assert event.object_id == str(users[Role.ENROLMENT_OFFICER].pk)
    assert "hunter2" not in str(event.payload)
    assert PASSWORD not in str(event.payload)


def test_ten_wrong_passwords_lock_the_account_on_the_token_endpoint(api, users):
    username = users[Role.AUDITOR].username
    for _ in range(LIMIT - 1):
        assert _token(api, username, "hunter2-wrong").status_code == 400
    response = _token(api, username, "hunter2-wrong")
    assert response.status_code == 429
    assert response.json()["code"] == "account_locked"

    response = _token(api, username, PASSWORD)
    assert response.status_code == 429
    body = response.json()
    assert body["code"] == "account_locked"
    assert "locked" in body["message"]
    assert "token" not in body
    assert AuditEvent.objects.filter(
        event=EventType.USER_LOCKED_OUT, payload__username=username
    ).exists()


def test_failures_on_the_form_and_the_api_add_up(client, api, users):
    username = users[Role.AUDITOR].username
    for _ in range(LIMIT // 2):
        _form_login(client, username, "hunter2-wrong")
    for _ in range(LIMIT - LIMIT // 2):
        _token(api, username, "hunter2-wrong")
    assert _form_login(client, username, PASSWORD).status_code == 429
    assert _token(api, username, PASSWORD).status_code == 429


def test_the_lock_lifts_after_the_cool_off(client, users, settings):
    username = users[Role.ENROLMENT_OFFICER].username
    _lock_on_form(client, username)
    assert _form_login(client, username, PASSWORD).status_code == 429

    from axes.models import AccessAttempt

    # Time passes: the failures are now older than the cool-off.
    AccessAttempt.objects.update(
        attempt_time=timezone.now()
        - timedelta(minutes=settings.CARDFORGE_LOGIN_COOLOFF_MINUTES, seconds=1)
    )
    response = _form_login(client, username, PASSWORD)
    assert response.status_code == 302
    assert _signed_in(client)


def test_an_administrator_unlocks_the_account_and_it_is_audited(client, users):
    locked_user = users[Role.ENROLMENT_OFFICER]
    _lock_on_form(client, locked_user.username)

    administrator = make_user(Role.ADMINISTRATOR, username="ada", is_staff=True)
    admin_client = client.__class__()
    sign_in_verified(admin_client, administrator)
    response = admin_client.post(
        reverse("admin:auth_user_changelist"),
        {"action": "unlock_sign_in", "_selected_action": [locked_user.pk], "index": 0},
        follow=True,
    )
    assert response.status_code == 200
    assert f"Sign-in unlocked for {locked_user.username}" in response.content.decode()

    unlocked = AuditEvent.objects.get(event=EventType.USER_UNLOCKED)
    assert unlocked.actor == "ada"
    assert unlocked.payload["username"] == locked_user.username

    response = _form_login(client, locked_user.username, PASSWORD)
    assert response.status_code == 302
    assert _signed_in(client)


def test_a_forged_forwarded_for_neither_dodges_the_lock_nor_is_recorded(client, users):
    username = users[Role.ENROLMENT_OFFICER].username
    # Each guess claims to come from somewhere else, with another browser: without a trusted
    # proxy the header is ignored, the failures add up on the username and are recorded
    # against the real peer.
    for index in range(LIMIT):
        _form_login(
            client,
            username,
            "hunter2-wrong",
            HTTP_X_FORWARDED_FOR=f"203.0.113.{index}",
            HTTP_USER_AGENT=f"Guesser/{index}",
        )
    response = _form_login(client, username, PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert response.status_code == 429
    assert not _signed_in(client)

    addresses = set(
        AuditEvent.objects.filter(
            event__in=[EventType.USER_LOGIN_FAILED, EventType.USER_LOCKED_OUT]
        ).values_list("payload__ip", flat=True)
    )
    assert addresses == {"127.0.0.1"}


def test_a_locked_account_locks_nobody_else_at_the_same_address(client, users):
    # An attacker who locks one officer (even naming a colleague's address in a forged header)
    # does not lock out the others working from that address.
    _lock_on_form(client, users[Role.ENROLMENT_OFFICER].username, HTTP_X_FORWARDED_FOR="10.0.0.7")
    colleague = make_user(Role.ENROLMENT_OFFICER, username="colleague")
    response = _form_login(client, colleague.username, PASSWORD, HTTP_X_FORWARDED_FOR="10.0.0.7")
    assert response.status_code == 302
    assert _signed_in(client)


def test_behind_a_trusted_proxy_the_address_it_appended_is_the_client(client, users, settings):
    settings.CARDFORGE_TRUSTED_PROXY_COUNT = 1
    username = users[Role.ENROLMENT_OFFICER].username
    # The client wrote the first entry itself; our proxy appended the address it saw.
    _form_login(client, username, "hunter2-wrong", HTTP_X_FORWARDED_FOR="6.6.6.6, 192.0.2.44")
    failed = AuditEvent.objects.get(event=EventType.USER_LOGIN_FAILED)
    assert failed.payload["ip"] == "192.0.2.44"


def test_a_short_forwarded_for_behind_two_proxies_falls_back_to_the_peer(client, users, settings):
    settings.CARDFORGE_TRUSTED_PROXY_COUNT = 2
    username = users[Role.ENROLMENT_OFFICER].username
    _form_login(client, username, "hunter2-wrong", HTTP_X_FORWARDED_FOR="192.0.2.44")
    failed = AuditEvent.objects.get(event=EventType.USER_LOGIN_FAILED)
    assert failed.payload["ip"] == "127.0.0.1"


def test_a_forged_forwarded_for_does_not_dodge_the_token_endpoints_rate_limit(api, db):
    # Spraying one password over many usernames stays under each username's lock; the
    # endpoint's per-address rate limit (20 a minute) stops it, whatever address is claimed.
    for index in range(20):
        response = api.post(
            TOKEN_URL,
            {"username": f"user{index}", "password": "Summer2026!"},
            HTTP_X_FORWARDED_FOR=f"203.0.113.{index}",
        )
        assert response.status_code == 400
    response = api.post(
        TOKEN_URL,
        {"username": "user20", "password": "Summer2026!"},
        HTTP_X_FORWARDED_FOR="203.0.113.20",
    )
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
