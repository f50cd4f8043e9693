"""Attacks by an administrator acting alone on other people's accounts (issue 12, scenario 2).

An administrator must not be able to become an approver: not by resetting an approving officer's
password and signing in as them, not by granting `decide_cardrequest` directly, not by granting
a role or superuser status that takes effect at once. Old API tokens must die with the password,
and every change to someone's access must be in the hash-chained audit trail.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client
from rest_framework.test import APIClient

from accounts.roles import Role
from audit.events import EventType
from audit.models import AuditEvent
from audit.selectors import audit_chain_verify
from cards.models import CardRequest
from cards.services.card_requests import card_request_submit
from tests.factories import ProfessionalFactory, make_user, password_works, sign_in_verified

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a brand new passphrase 2026!"
OLD_PASSWORD = "correct horse battery staple"


@pytest.fixture
def administrator(users):
    admin_user = users[Role.ADMINISTRATOR]
    admin_user.is_staff = True
    admin_user.email = "administrator@example.org"
    admin_user.save()
    return admin_user


@pytest.fixture
def admin_client(administrator) -> Client:
    client = Client()
    sign_in_verified(client, administrator)
    return client


def _change_form(user, **changes) -> dict:
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_active": "on",
        "groups": list(user.groups.values_list("pk", flat=True)),
        "date_joined_0": "2026-11-29",
        "date_joined_1": "08:00:00",
    }
    data.update(changes)
    return data


def _token(username: str, password: str):
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": username, "password": password}, format="json"
    )
    return response.json().get("token") if response.status_code == 200 else None


def test_an_administrator_cannot_reset_an_approvers_password_and_approve_their_own_request(
    admin_client, administrator, users, profiles
):
    approver = users[Role.APPROVING_OFFICER]
    approver.email = "approver@example.org"
    approver.save()
    own_request = card_request_submit(
        professional=ProfessionalFactory(), profile=profiles["hpc-physician"], by=administrator
    )

    response = admin_client.post(
        f"/admin/auth/user/{approver.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )
    assert response.status_code == 302

    # The attack: sign in as the approver with the typed password and approve.
    token = _token(approver.username, NEW_PASSWORD)
    if token is not None:
        as_approver = APIClient()
        as_approver.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        as_approver.post(f"/api/v1/card-requests/{own_request.pk}/approve/", {}, format="json")
    own_request.refresh_from_db()
    assert own_request.status == CardRequest.Status.SUBMITTED
    assert token is None
    assert not password_works(approver.username, NEW_PASSWORD)
    # The approver still signs in with their own password until a second administrator approves.
    assert password_works(approver.username, OLD_PASSWORD)


def test_the_typed_password_is_never_set_even_after_a_second_administrator_approves(
    admin_client, administrator, users, mailoutbox, django_capture_on_commit_callbacks
):
    approver = users[Role.APPROVING_OFFICER]
    approver.email = "approver@example.org"
    approver.save()
    admin_client.post(
        f"/admin/auth/user/{approver.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )
    second = make_user(Role.ADMINISTRATOR, username="second-admin")
    pending = APIClient()
    pending.force_authenticate(second)
    changes = pending.get("/api/v1/privileged-changes/?status=pending").json()["results"]
    assert [(c["kind"], c["user"]) for c in changes] == [("reset_password", approver.username)]
    with django_capture_on_commit_callbacks(execute=True):
        approved = pending.post(f"/api/v1/privileged-changes/{changes[0]['id']}/approve/")
    assert approved.status_code == 200, approved.content

    approver.refresh_from_db()
    assert not approver.has_usable_password()
    assert not password_works(approver.username, NEW_PASSWORD)
    assert not password_works(approver.username, OLD_PASSWORD)
    # The link goes to the approver's own mailbox, nobody else's.
    (mail,) = mailoutbox
    assert mail.to == ["approver@example.org"]
    assert NEW_PASSWORD not in mail.body


def test_an_administrator_cannot_grant_decide_cardrequest_directly(admin_client, users):
    target = users[Role.ENROLMENT_OFFICER]
    decide = Permission.objects.get(codename="decide_cardrequest")
    admin_client.post(
        f"/admin/auth/user/{target.pk}/change/",
        _change_form(target, user_permissions=[decide.pk]),
    )
    target = type(target).objects.get(pk=target.pk)
    assert not target.has_perm("cards.decide_cardrequest")
    assert not target.user_permissions.exists()


@pytest.mark.parametrize("role", [Role.APPROVING_OFFICER, Role.ADMINISTRATOR])
def test_granting_a_role_that_approves_or_administers_waits_for_a_second_administrator(
    admin_client, administrator, users, role
):
    target = users[Role.ENROLMENT_OFFICER]
    group = Group.objects.get(name=role.value)
    admin_client.post(
        f"/admin/auth/user/{target.pk}/change/",
        _change_form(target, groups=[*target.groups.values_list("pk", flat=True), group.pk]),
    )
    target = type(target).objects.get(pk=target.pk)
    assert not target.groups.filter(pk=group.pk).exists()
    assert not target.has_perm("cards.decide_cardrequest")


def test_an_administrator_cannot_grant_themselves_the_approving_role(admin_client, administrator):
    group = Group.objects.get(name=Role.APPROVING_OFFICER.value)
    admin_client.post(
        f"/admin/auth/user/{administrator.pk}/change/",
        _change_form(
            administrator,
            is_staff="on",
            groups=[*administrator.groups.values_list("pk", flat=True), group.pk],
        ),
    )
    assert not administrator.groups.filter(pk=group.pk).exists()


@pytest.mark.parametrize("who", ["self", "other"])
def test_superuser_status_cannot_be_granted_in_the_admin(admin_client, administrator, users, who):
    target = administrator if who == "self" else users[Role.ENROLMENT_OFFICER]
    admin_client.post(
        f"/admin/auth/user/{target.pk}/change/",
        _change_form(target, is_superuser="on", is_staff="on"),
    )
    target.refresh_from_db()
    assert not target.is_superuser


def test_an_old_api_token_stops_working_when_the_password_changes(users):
    auditor = users[Role.AUDITOR]
    token = _token(auditor.username, OLD_PASSWORD)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/audit-events/").status_code == 200

    auditor.set_password(NEW_PASSWORD)
    auditor.save()
    assert client.get("/api/v1/audit-events/").status_code == 401


def test_a_password_reset_in_the_admin_is_in_the_audit_chain(admin_client, users):
    target = users[Role.ENCODING_OPERATOR]
    response = admin_client.post(
        f"/admin/auth/user/{target.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )
    assert response.status_code == 302
    (event,) = AuditEvent.objects.filter(
        event=EventType.USER_PASSWORD_RESET, object_id=str(target.pk)
    )
    assert event.actor == "administrator"
    assert event.payload["method"] == "set by administrator"
    assert NEW_PASSWORD not in str(event.payload)
    assert audit_chain_verify().intact


def test_a_role_grant_in_the_admin_is_in_the_audit_chain_with_before_and_after(admin_client, users):
    target = make_user(None, username="newcomer")
    group = Group.objects.get(name=Role.ENCODING_OPERATOR.value)
    response = admin_client.post(
        f"/admin/auth/user/{target.pk}/change/", _change_form(target, groups=[group.pk])
    )
    assert response.status_code == 302
    assert target.groups.filter(pk=group.pk).exists()  # not privileged: takes effect at once
    event = AuditEvent.objects.get(event=EventType.USER_ROLE_GRANTED)
    assert event.actor == "administrator"
    assert event.payload["role"] == Role.ENCODING_OPERATOR.value
    assert event.payload["before"] == []
    assert event.payload["after"] == [Role.ENCODING_OPERATOR.value]
