"""Four eyes: the submitter of a card request can never decide on it, through any interface."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.roles import Role
from audit.events import EventType
from audit.models import AuditEvent
from audit.selectors import audit_chain_verify
from cards.models import CardRequest
from cards.services.card_requests import (
    card_request_approve,
    card_request_cancel,
    card_request_reject,
    card_request_submit,
)
from config.errors import Conflict, FourEyesViolation, NotAllowed, ValidationFailed
from tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def submitted(profiles, professional, users):
    return card_request_submit(
        professional=professional,
        profile=profiles["hpc-physician"],
        by=users[Role.ENROLMENT_OFFICER],
    )


def test_submit_records_the_current_profile_version_and_an_audit_event(submitted, profiles):
    assert submitted.status == CardRequest.Status.SUBMITTED
    assert submitted.profile_version == profiles["hpc-physician"].current_version
    event = AuditEvent.objects.get(event=EventType.CARD_REQUEST_SUBMITTED)
    assert event.object_id == str(submitted.pk)
    assert event.actor == "enrolment-officer"
    assert event.payload["professional"] == submitted.professional.rpps


def test_another_officer_approves(submitted, users):
    approved = card_request_approve(card_request=submitted, by=users[Role.APPROVING_OFFICER])
    assert approved.status == CardRequest.Status.APPROVED
    assert approved.decided_by == users[Role.APPROVING_OFFICER]
    event = AuditEvent.objects.get(event=EventType.CARD_REQUEST_APPROVED)
    assert event.payload["submitted_by"] == "enrolment-officer"
    assert event.actor == "approving-officer"
    assert audit_chain_verify().intact


def test_administrator_cannot_approve_their_own_request(profiles, professional, users):
    admin = users[Role.ADMINISTRATOR]
    own = card_request_submit(professional=professional, profile=profiles["hpc-rsa"], by=admin)
    with pytest.raises(FourEyesViolation):
        card_request_approve(card_request=own, by=admin)
    with pytest.raises(FourEyesViolation):
        card_request_reject(card_request=own, by=admin, reason="mine")
    own.refresh_from_db()
    assert own.status == CardRequest.Status.SUBMITTED
    assert not AuditEvent.objects.filter(event=EventType.CARD_REQUEST_APPROVED).exists()


def test_superuser_cannot_approve_their_own_request(profiles, professional):
    boss = make_user(None, is_superuser=True, is_staff=True)
    own = card_request_submit(professional=professional, profile=profiles["hpc-rsa"], by=boss)
    with pytest.raises(FourEyesViolation):
        card_request_approve(card_request=own, by=boss)


def test_database_refuses_self_approval_even_bypassing_the_service(submitted):
    submitted.status = CardRequest.Status.APPROVED
    submitted.decided_by = submitted.submitted_by
    submitted.decided_at = timezone.now()
    with pytest.raises(IntegrityError), transaction.atomic():
        submitted.save()


def test_database_refuses_a_decision_without_decider(submitted):
    with pytest.raises(IntegrityError), transaction.atomic():
        CardRequest.objects.filter(pk=submitted.pk).update(status=CardRequest.Status.APPROVED)


def test_roles_without_the_permission_cannot_decide(submitted, users):
    for role in (Role.ENROLMENT_OFFICER, Role.ENCODING_OPERATOR, Role.AUDITOR):
        with pytest.raises(NotAllowed):
            card_request_approve(card_request=submitted, by=users[role])


def test_rejection_needs_a_reason(submitted, users):
    with pytest.raises(ValidationFailed) as caught:
        card_request_reject(card_request=submitted, by=users[Role.APPROVING_OFFICER], reason=" ")
    assert caught.value.errors[0].field == "reason"
    submitted.refresh_from_db()
    assert submitted.status == CardRequest.Status.SUBMITTED


def test_a_decided_request_cannot_be_decided_again(submitted, users):
    card_request_reject(card_request=submitted, by=users[Role.APPROVING_OFFICER], reason="no")
    with pytest.raises(Conflict):
        card_request_approve(card_request=submitted, by=users[Role.ADMINISTRATOR])
    with pytest.raises(Conflict):
        card_request_cancel(card_request=submitted, by=users[Role.ENROLMENT_OFFICER])


def test_one_open_request_per_professional_and_profile(submitted, profiles, users):
    with pytest.raises(Conflict, match="already has an open request"):
        card_request_submit(
            professional=submitted.professional,
            profile=profiles["hpc-physician"],
            by=users[Role.ADMINISTRATOR],
        )
    # Another profile is fine; so is the same profile once the first request is closed.
    card_request_submit(
        professional=submitted.professional,
        profile=profiles["hpc-rsa"],
        by=users[Role.ADMINISTRATOR],
    )
    card_request_cancel(card_request=submitted, by=users[Role.ENROLMENT_OFFICER])
    again = card_request_submit(
        professional=submitted.professional,
        profile=profiles["hpc-physician"],
        reason=CardRequest.Reason.REPLACEMENT,
        by=users[Role.ADMINISTRATOR],
    )
    assert again.status == CardRequest.Status.SUBMITTED


def test_database_refuses_a_second_open_request(submitted):
    duplicate = CardRequest(
        professional=submitted.professional,
        card_profile=submitted.card_profile,
        profile_version=submitted.profile_version,
        submitted_by=submitted.submitted_by,
        submitted_at=timezone.now(),
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        duplicate.save()


def test_approved_request_still_blocks_a_new_one(submitted, users, profiles):
    card_request_approve(card_request=submitted, by=users[Role.APPROVING_OFFICER])
    with pytest.raises(Conflict):
        card_request_submit(
            professional=submitted.professional,
            profile=profiles["hpc-physician"],
            by=users[Role.ADMINISTRATOR],
        )


# Through the API -------------------------------------------------------------------------


def test_api_self_approval_refused_with_four_eyes_code(api, profiles, professional, users):
    admin = users[Role.ADMINISTRATOR]
    client = api.as_user(admin)
    created = client.post(
        "/api/v1/card-requests/",
        {"professional": professional.rpps, "profile": "hpc-physician", "reason": "new"},
        format="json",
    )
    assert created.status_code == 201
    request_id = created.json()["id"]
    for action in ("approve", "reject"):
        response = client.post(
            f"/api/v1/card-requests/{request_id}/{action}/", {"reason": "x"}, format="json"
        )
        assert response.status_code == 403
        body = response.json()
        assert body["code"] == "four_eyes"
        assert "another officer" in body["message"]
    assert client.get(f"/api/v1/card-requests/{request_id}/").json()["status"] == "submitted"

    approver = api.as_user(users[Role.APPROVING_OFFICER])
    response = approver.post(f"/api/v1/card-requests/{request_id}/approve/", {}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "approved"
    assert response.json()["decided_by"] == "approving-officer"


def test_api_submit_errors_name_the_field(api, profiles, professional, users):
    client = api.as_user(users[Role.ENROLMENT_OFFICER])
    response = client.post(
        "/api/v1/card-requests/",
        {"professional": "99999999999", "profile": "hpc-physician"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "professional"
    response = client.post(
        "/api/v1/card-requests/",
        {"professional": professional.rpps, "profile": "nope"},
        format="json",
    )
    assert response.json()["errors"][0]["field"] == "profile"
    response = client.post(
        "/api/v1/card-requests/",
        {"professional": professional.rpps, "profile": "hpc-rsa", "reason": "lost"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "reason"
    assert not CardRequest.objects.exists()


def test_api_second_open_request_is_a_409(api, submitted, users):
    response = api.as_user(users[Role.ADMINISTRATOR]).post(
        "/api/v1/card-requests/",
        {"professional": submitted.professional.pk, "profile": "hpc-physician"},
        format="json",
    )
    assert response.status_code == 409
    assert response.json()["code"] == "open_request_exists"


def test_api_list_filters_by_status(api, submitted, users, profiles, professional):
    card_request_reject(card_request=submitted, by=users[Role.APPROVING_OFFICER], reason="no")
    card_request_submit(
        professional=professional, profile=profiles["hpc-rsa"], by=users[Role.ENROLMENT_OFFICER]
    )
    client = api.as_user(users[Role.AUDITOR])
    rejected = client.get("/api/v1/card-requests/?status=rejected").json()
    assert [item["id"] for item in rejected["results"]] == [submitted.pk]
    assert rejected["results"][0]["decision_reason"] == "no"
    assert client.get("/api/v1/card-requests/?status=submitted").json()["count"] == 1
    bad = client.get("/api/v1/card-requests/?status=maybe")
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "status"


def test_every_status_has_its_row_in_the_transition_table():
    from cards.services.card_requests import TRANSITIONS

    assert set(TRANSITIONS) == set(CardRequest.Status.values)
    for moves in TRANSITIONS.values():
        assert set(moves) <= set(CardRequest.Status.values)


def test_only_an_approved_request_completes(users, profiles, professional):
    from cards.services.card_requests import card_request_complete

    request = card_request_submit(
        professional=professional,
        profile=profiles["hpc-physician"],
        by=users[Role.ENROLMENT_OFFICER],
    )
    with pytest.raises(Conflict, match=rf"card request #{request.pk} is submitted, not approved"):
        card_request_complete(card_request_id=request.pk)
    request.refresh_from_db()
    assert request.status == CardRequest.Status.SUBMITTED
