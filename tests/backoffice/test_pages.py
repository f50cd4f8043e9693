"""The back office, page by page, as each role sees it (Django's test client, no JavaScript)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.roles import Role
from audit.events import EventType
from audit.models import AuditEvent
from cards.models import CardRequest
from cards.services.card_requests import card_request_submit
from issuance.models import Professional
from tests.factories import sign_in_verified, valid_rpps

pytestmark = pytest.mark.django_db

PAGES = {
    "dashboard": set(Role),
    "professional-list": set(Role),
    "professional-create": {Role.ENROLMENT_OFFICER, Role.ADMINISTRATOR},
    "professional-import": {Role.ENROLMENT_OFFICER, Role.ADMINISTRATOR},
    "organisation-list": set(Role),
    "card-request-list": set(Role),
    "card-profile-list": set(Role),
    "audit-event-list": {Role.AUDITOR, Role.ADMINISTRATOR},
    "audit-verify": {Role.AUDITOR, Role.ADMINISTRATOR},
    "station-list": set(Role),
    "station-create": {Role.ADMINISTRATOR},
    "job-list": set(Role),
    "batch-list": set(Role),
    "card-list": set(Role),
}


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.slug)
def test_each_role_sees_its_pages_and_is_refused_the_others(client, users, profiles, role):
    sign_in_verified(client, users[role])
    for name, allowed in PAGES.items():
        response = client.get(reverse(name))
        expected = 200 if role in allowed else 403
        assert response.status_code == expected, (name, role)
        if expected == 403:
            assert b"Your role does not allow" in response.content


def test_navigation_shows_only_what_the_role_may_open(client, users):
    sign_in_verified(client, users[Role.ENCODING_OPERATOR])
    page = client.get(reverse("dashboard")).content.decode()
    assert "Professionals" in page
    assert "Audit trail" not in page
    for link in ("Jobs", "Cards", "Stations"):
        assert f">{link}</a>" in page
    sign_in_verified(client, users[Role.AUDITOR])
    assert "Audit trail" in client.get(reverse("dashboard")).content.decode()


def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse("professional-list"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_login_and_failed_login_are_audited_without_the_password(client, users):
    response = client.post(
        reverse("login"), {"username": "enrolment-officer", "password": "hunter2-wrong"}
    )
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    failed = AuditEvent.objects.get(event=EventType.USER_LOGIN_FAILED)
    assert failed.payload["username"] == "enrolment-officer"
    assert "hunter2" not in str(failed.payload)
    response = client.post(
        reverse("login"),
        {"username": "enrolment-officer", "password": "correct horse battery staple"},
    )
    assert response.status_code == 302
    assert AuditEvent.objects.filter(event=EventType.USER_LOGGED_IN).exists()


def _form(**overrides) -> dict:
    data = {
        "rpps": valid_rpps(),
        "last_name": "Mbappé",
        "first_name": "Aïssatou",
        "profession": "60",
        "email": "aissatou@example.org",
        "country": "FR",
    }
    data.update(overrides)
    return data


def test_enrolment_form_creates_a_professional(client, users):
    sign_in_verified(client, users[Role.ENROLMENT_OFFICER])
    response = client.post(reverse("professional-create"), _form(), follow=True)
    assert response.status_code == 200
    professional = Professional.objects.get()
    assert professional.first_name == "Aïssatou"
    assert "is enrolled" in response.content.decode()


def test_enrolment_form_shows_the_error_on_the_field_and_keeps_the_input(client, users):
    sign_in_verified(client, users[Role.ENROLMENT_OFFICER])
    response = client.post(reverse("professional-create"), _form(rpps="12345678901"))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="id_rpps-errors"' in page
    assert "check digit is wrong" in page
    assert 'value="Mbappé"' in page
    assert Professional.objects.count() == 0


def test_edit_form_updates(client, users, professional):
    sign_in_verified(client, users[Role.ADMINISTRATOR])
    data = _form(rpps=professional.rpps, email=professional.email, city="Nantes")
    response = client.post(reverse("professional-edit", args=[professional.pk]), data)
    assert response.status_code == 302
    professional.refresh_from_db()
    assert professional.city == "Nantes"


def test_import_page_reports_bad_rows(client, users):
    from django.core.files.uploadedfile import SimpleUploadedFile

    sign_in_verified(client, users[Role.ENROLMENT_OFFICER])
    content = f"rpps,last_name,first_name,profession,email\n{valid_rpps()},A,B,10,a@b.org\n123,C,D,10,c@d.org\n"
    upload = SimpleUploadedFile("x.csv", content.encode())
    page = client.post(reverse("professional-import"), {"file": upload}).content.decode()
    assert "Nothing was imported" in page
    assert '<td class="mono">3</td>' in page
    assert Professional.objects.count() == 0


def test_request_submit_and_four_eyes_in_the_pages(client, users, profiles, professional):
    sign_in_verified(client, users[Role.ADMINISTRATOR])
    response = client.post(
        reverse("card-request-submit", args=[professional.pk]),
        {"profile": "hpc-physician", "reason": "new", "comment": ""},
    )
    card_request = CardRequest.objects.get()
    assert response.url == reverse("card-request-detail", args=[card_request.pk])
    page = client.get(response.url).content.decode()
    assert "four eyes" in page
    assert 'id="decision-form"' not in page
    # Posting anyway is refused by the service and shown as an error.
    refused = client.post(reverse("card-request-approve", args=[card_request.pk]), follow=True)
    assert "another officer must approve" in refused.content.decode()
    card_request.refresh_from_db()
    assert card_request.status == "submitted"

    sign_in_verified(client, users[Role.APPROVING_OFFICER])
    page = client.get(response.url).content.decode()
    assert 'id="decision-form"' in page
    # The approver sees the identity the card will carry, and approves that snapshot only.
    assert professional.last_name in page
    assert card_request.identity_sha256 in page
    stale = client.post(
        reverse("card-request-approve", args=[card_request.pk]),
        {"identity_sha256": "0" * 64},
        follow=True,
    )
    assert "the identity you were shown" in stale.content.decode()
    card_request.refresh_from_db()
    assert card_request.status == "submitted"
    client.post(
        reverse("card-request-approve", args=[card_request.pk]),
        {"identity_sha256": card_request.identity_sha256},
    )
    card_request.refresh_from_db()
    assert card_request.status == "approved"


def test_reject_without_reason_is_refused_in_the_page(client, users, profiles, professional):
    card_request = card_request_submit(
        professional=professional, profile=profiles["hpc-rsa"], by=users[Role.ENROLMENT_OFFICER]
    )
    sign_in_verified(client, users[Role.APPROVING_OFFICER])
    response = client.post(
        reverse("card-request-reject", args=[card_request.pk]), {"reason": ""}, follow=True
    )
    assert (
        "reason: is required" in response.content.decode()
        or "is required" in response.content.decode()
    )
    card_request.refresh_from_db()
    assert card_request.status == "submitted"


def test_audit_verify_page_reports_intact_chain(client, users, professional):
    sign_in_verified(client, users[Role.AUDITOR])
    page = client.get(reverse("audit-verify")).content.decode()
    assert "The chain is intact" in page


def test_card_profile_pages(client, users, profiles):
    sign_in_verified(client, users[Role.ENCODING_OPERATOR])
    page = client.get(reverse("card-profile-detail", args=["hpc-physician"])).content.decode()
    assert "eccp256" in page
    assert "hp-qualified-signature" in page
