"""Attacks on the second factor: an approving officer's (or administrator's) password alone opens
no page, approves nothing and gets no API token; wrong codes count towards the lockout; the first
sign-in enrols an authenticator app."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.roles import Role
from audit.events import EventType
from audit.models import AuditEvent
from cards.models import CardRequest
from cards.services.card_requests import card_request_submit
from tests.factories import make_totp_device, make_user, sign_in_verified, totp_code

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
TOKEN_URL = "/api/v1/auth/token/"


def _form_login(client, username: str, password: str = PASSWORD):
    return client.post(reverse("login"), {"username": username, "password": password})


@pytest.fixture
def submitted(users, profiles, professional) -> CardRequest:
    return card_request_submit(
        professional=professional,
        profile=profiles["hpc-physician"],
        by=users[Role.ENROLMENT_OFFICER],
    )


@pytest.mark.parametrize("role", [Role.APPROVING_OFFICER, Role.ADMINISTRATOR], ids=str)
def test_password_alone_opens_no_page_and_approves_nothing(client, users, submitted, role):
    officer = users[role]
    make_totp_device(officer)
    response = _form_login(client, officer.username)
    code_step = reverse("login-totp")
    assert response.status_code == 302
    assert response.url.startswith(code_step)

    for name in ("dashboard", "card-request-list", "audit-event-list"):
        response = client.get(reverse(name))
        assert response.status_code == 302, name
        assert response.url.startswith(code_step), name
    assert client.get("/admin/").url.startswith(code_step)

    response = client.post(reverse("card-request-approve", args=[submitted.pk]), {"note": "ok"})
    assert response.status_code == 302
    assert response.url.startswith(code_step)
    # The API, reached with the same half-signed-in session.
    response = client.post(
        f"/api/v1/card-requests/{submitted.pk}/approve/",
        {"note": "ok"},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert response.json()["code"] == "otp_required"
    submitted.refresh_from_db()
    assert submitted.status == CardRequest.Status.SUBMITTED


def test_the_right_code_opens_the_pages_and_approval(client, users, submitted):
    officer = users[Role.APPROVING_OFFICER]
    device = make_totp_device(officer)
    _form_login(client, officer.username)
    code_page = client.get(reverse("login-totp")).content.decode()
    assert f'href="{reverse("card-request-list")}"' not in code_page  # no navigation yet
    response = client.post(reverse("login-totp"), {"otp_token": totp_code(device.bin_key)})
    assert response.status_code == 302
    assert response.url == reverse("dashboard")
    dashboard = client.get(reverse("dashboard"))
    assert dashboard.status_code == 200
    assert f'href="{reverse("card-request-list")}"' in dashboard.content.decode()
    client.post(
        reverse("card-request-approve", args=[submitted.pk]),
        {"reason": "checked", "identity_sha256": submitted.identity_sha256},
    )
    submitted.refresh_from_db()
    assert submitted.status == CardRequest.Status.APPROVED
    assert AuditEvent.objects.filter(event=EventType.SECOND_FACTOR_VERIFIED).exists()


def test_a_code_is_not_accepted_twice(client, users):
    officer = users[Role.APPROVING_OFFICER]
    device = make_totp_device(officer)
    code = totp_code(device.bin_key)
    _form_login(client, officer.username)
    client.post(reverse("login-totp"), {"otp_token": code})
    client.post(reverse("logout"))
    _form_login(client, officer.username)
    response = client.post(reverse("login-totp"), {"otp_token": code})
    assert response.status_code == 200
    assert "The code is wrong or has expired" in response.content.decode()
    assert client.get(reverse("dashboard")).status_code == 302


def test_wrong_codes_count_towards_the_lockout(client, users, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # django-otp's own back-off would slow the guesses
    officer = users[Role.APPROVING_OFFICER]
    device = make_totp_device(officer)
    _form_login(client, officer.username)
    for _ in range(9):
        response = client.post(reverse("login-totp"), {"otp_token": "000000"})
        assert response.status_code == 200
    response = client.post(reverse("login-totp"), {"otp_token": "000000"})
    assert response.status_code == 429
    assert "This account is locked" in response.content.decode()
    assert "_auth_user_id" not in client.session  # the half-signed-in session is gone
    # Neither the password nor a right code gets in now.
    assert _form_login(client, officer.username).status_code == 429
    assert AuditEvent.objects.filter(
        event=EventType.USER_LOCKED_OUT, payload__username=officer.username
    ).exists()
    failed = AuditEvent.objects.filter(event=EventType.USER_LOGIN_FAILED)
    assert failed.filter(payload__step="second factor").count() == 10
    assert "000000" not in str(list(failed.values_list("payload", flat=True)))
    assert device.key not in str(list(AuditEvent.objects.values_list("payload", flat=True)))


def test_an_enrolment_officer_needs_no_code(client, users):
    response = _form_login(client, users[Role.ENROLMENT_OFFICER].username)
    assert response.status_code == 302
    assert response.url == reverse("dashboard")
    assert client.get(reverse("dashboard")).status_code == 200


def test_first_sign_in_enrols_an_authenticator(client, users, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # the right code at once after a wrong one
    officer = users[Role.APPROVING_OFFICER]
    response = _form_login(client, officer.username)
    assert response.url.startswith(reverse("login-totp-enrol"))
    # The code step sends a user without a device to enrolment.
    assert client.get(reverse("login-totp")).url.startswith(reverse("login-totp-enrol"))

    page = client.get(reverse("login-totp-enrol"))
    html = page.content.decode()
    assert "<svg" in html
    assert "no-store" in page["Cache-Control"]
    device = TOTPDevice.objects.get(user=officer)
    assert not device.confirmed
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', html).group(1).replace(" ", "")
    import base64

    assert base64.b32decode(secret) == device.bin_key
    # Reloading shows the same secret (the app may already hold it).
    assert secret in client.get(reverse("login-totp-enrol")).content.decode().replace(" ", "")

    response = client.post(reverse("login-totp-enrol"), {"otp_token": "000000"})
    assert response.status_code == 200
    assert "The code is wrong or has expired" in response.content.decode()
    response = client.post(reverse("login-totp-enrol"), {"otp_token": totp_code(device.bin_key)})
    assert response.status_code == 302
    assert response.url == reverse("dashboard")
    device.refresh_from_db()
    assert device.confirmed
    assert client.get(reverse("dashboard")).status_code == 200
    enrolled = AuditEvent.objects.get(event=EventType.SECOND_FACTOR_ENROLLED)
    assert enrolled.payload["username"] == officer.username
    assert device.key not in str(enrolled.payload)
    assert secret not in str(enrolled.payload)


def test_enrolment_is_refused_once_a_device_is_confirmed(client, users):
    officer = users[Role.APPROVING_OFFICER]
    make_totp_device(officer)
    _form_login(client, officer.username)
    response = client.get(reverse("login-totp-enrol"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login-totp"))
    assert TOTPDevice.objects.filter(user=officer).count() == 1


def test_the_token_endpoint_needs_the_code_of_an_approving_officer(api, users, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # the right code at once after a wrong one
    officer = users[Role.APPROVING_OFFICER]
    device = make_totp_device(officer)
    response = api.post(TOKEN_URL, {"username": officer.username, "password": PASSWORD})
    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "otp_required"
    assert body["errors"][0]["field"] == "otp"
    assert "token" not in body

    response = api.post(
        TOKEN_URL, {"username": officer.username, "password": PASSWORD, "otp": "000000"}
    )
    assert response.status_code == 403
    assert response.json()["code"] == "otp_invalid"
    assert AuditEvent.objects.filter(event=EventType.USER_LOGIN_FAILED).exists()

    response = api.post(
        TOKEN_URL,
        {"username": officer.username, "password": PASSWORD, "otp": totp_code(device.bin_key)},
    )
    assert response.status_code == 200
    assert response.json()["token"]


def test_the_token_endpoint_refuses_an_officer_who_never_enrolled(api, users):
    officer = users[Role.ADMINISTRATOR]
    response = api.post(
        TOKEN_URL, {"username": officer.username, "password": PASSWORD, "otp": "123456"}
    )
    assert response.status_code == 403
    assert response.json()["code"] == "otp_enrolment_required"


def test_a_superuser_or_staff_member_needs_the_code_too(client, db):
    for user in (
        make_user(None, username="root", is_superuser=True),
        make_user(None, username="staff", is_staff=True),
    ):
        client.post(reverse("logout"))
        response = _form_login(client, user.username)
        assert response.url.startswith(reverse("login-totp-enrol")), user.username


def test_the_test_helper_signs_in_with_the_second_factor(client, users):
    sign_in_verified(client, users[Role.APPROVING_OFFICER])
    assert client.get(reverse("dashboard")).status_code == 200


def test_a_role_that_can_decide_needs_the_code_from_its_next_request(client, users):
    from django.contrib.auth.models import Group

    officer = users[Role.ENROLMENT_OFFICER]
    _form_login(client, officer.username)
    assert client.get(reverse("dashboard")).status_code == 200
    officer.groups.add(Group.objects.get(name=Role.APPROVING_OFFICER.value))
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login-totp-enrol"))


def test_the_code_steps_send_other_roles_on(client, users):
    _form_login(client, users[Role.AUDITOR].username)
    assert client.get(reverse("login-totp")).url == reverse("dashboard")
    assert client.get(reverse("login-totp-enrol")).url == reverse("dashboard")
    assert not TOTPDevice.objects.exists()


def test_no_admin_page_shows_or_replaces_an_officers_totp_key(client, users, db):
    # Whoever reads an approver's key (or registers a device of their own for them) needs only
    # the password to act as the approver: the admin offers neither, not even to a superuser.
    device = make_totp_device(users[Role.APPROVING_OFFICER])
    sign_in_verified(client, make_user(None, username="root", is_superuser=True, is_staff=True))
    for url in (
        f"/admin/otp_totp/totpdevice/{device.pk}/change/",
        f"/admin/otp_totp/totpdevice/{device.pk}/qrcode/",
        "/admin/otp_totp/totpdevice/add/",
    ):
        response = client.get(url, follow=True)
        assert response.status_code == 404, url
        assert device.key not in response.content.decode()
