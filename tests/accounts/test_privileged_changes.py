"""Privileged changes as administrators meet them: asked by one, decided by another, applied
only then, every step in the audit chain, and the database refusing a decision by the wrong
person even when the service is bypassed."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import PrivilegedChange
from accounts.roles import Role
from accounts.services.access import (
    user_api_tokens_revoke,
    user_password_reset,
    user_role_grant,
    user_second_factor_reset,
)
from accounts.services.privileged import (
    privileged_change_approve,
    privileged_change_cancel,
    privileged_change_reject,
)
from accounts.services.tokens import api_token_create
from audit.events import EventType
from audit.models import AuditEvent
from audit.selectors import audit_chain_verify
from config.errors import Conflict, FourEyesViolation, NotAllowed, ValidationFailed
from tests.factories import make_user, password_works

pytestmark = pytest.mark.django_db

Kind = PrivilegedChange.Kind


@pytest.fixture
def admins(users):
    first = users[Role.ADMINISTRATOR]
    second = make_user(Role.ADMINISTRATOR, username="second-admin")
    return first, second


@pytest.fixture
def approver(users):
    user = users[Role.APPROVING_OFFICER]
    user.email = "approver@example.org"
    user.save()
    return user


def _role(role: Role) -> Group:
    return Group.objects.get(name=role.value)


def _events(kind: EventType) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(event=kind).order_by("sequence"))


def test_a_privileged_grant_takes_effect_when_a_second_administrator_approves(
    admins, users, mailoutbox, django_capture_on_commit_callbacks
):
    first, second = admins
    officer = users[Role.ENROLMENT_OFFICER]
    officer.email = "officer@example.org"
    officer.save()
    change = user_role_grant(
        user=officer, role=_role(Role.APPROVING_OFFICER), by=first, reason="new approver"
    )
    assert change.status == PrivilegedChange.Status.PENDING
    assert not officer.has_perm("cards.decide_cardrequest")

    with django_capture_on_commit_callbacks(execute=True):
        privileged_change_approve(change=change, by=second)

    officer = type(officer).objects.get(pk=officer.pk)
    assert officer.has_perm("cards.decide_cardrequest")
    # Fresh credentials: whoever knew the old password does not inherit the role.
    assert not officer.has_usable_password()
    assert [mail.to for mail in mailoutbox] == [["officer@example.org"]]
    (granted,) = _events(EventType.USER_ROLE_GRANTED)
    assert granted.actor == "second-admin"
    assert granted.payload["privileged_change"] == change.pk
    assert granted.payload["after"] == ["approving officer", "enrolment officer"]
    (asked,) = _events(EventType.PRIVILEGED_CHANGE_REQUESTED)
    assert (asked.actor, asked.payload["reason"]) == ("administrator", "new approver")
    assert _events(EventType.PRIVILEGED_CHANGE_APPROVED)[0].actor == "second-admin"
    assert audit_chain_verify().intact


def test_the_requester_cannot_approve_their_own_request(admins, approver):
    first, _ = admins
    change = user_password_reset(user=approver, by=first)
    with pytest.raises(FourEyesViolation, match="another administrator"):
        privileged_change_approve(change=change, by=first)
    change.refresh_from_db()
    assert change.status == PrivilegedChange.Status.PENDING
    assert approver.has_usable_password()


def test_nobody_approves_a_change_to_their_own_account(admins):
    first, second = admins
    second.email = "second@example.org"
    second.save()
    change = user_password_reset(user=second, by=first)
    assert change is not None  # an administrator is privileged
    with pytest.raises(FourEyesViolation, match="your own account"):
        privileged_change_approve(change=change, by=second)


def test_the_database_refuses_a_decision_by_the_requester_or_the_target(admins, approver):
    first, second = admins
    change = user_second_factor_reset(user=approver, by=first)
    for decider in (first, approver):
        with pytest.raises(IntegrityError), transaction.atomic():
            PrivilegedChange.objects.filter(pk=change.pk).update(
                status="approved", decided_by=decider
            )
    PrivilegedChange.objects.filter(pk=change.pk).update(status="approved", decided_by=second)


def test_an_approving_officer_cannot_decide_privileged_changes(admins, approver, users):
    first, second = admins
    change = user_api_tokens_revoke(user=second, by=first)
    with pytest.raises(NotAllowed):
        privileged_change_approve(change=change, by=approver)
    with pytest.raises(NotAllowed):
        user_role_grant(user=users[Role.AUDITOR], role=_role(Role.ADMINISTRATOR), by=approver)


def test_a_rejected_change_does_nothing_and_needs_a_reason(admins, users):
    first, second = admins
    officer = users[Role.ENROLMENT_OFFICER]
    officer.email = "officer@example.org"
    officer.save()
    change = user_role_grant(user=officer, role=_role(Role.ADMINISTRATOR), by=first)
    with pytest.raises(ValidationFailed, match="reason"):
        privileged_change_reject(change=change, by=second, reason=" ")
    privileged_change_reject(change=change, by=second, reason="not in the staff list")
    assert not officer.groups.filter(name=Role.ADMINISTRATOR.value).exists()
    with pytest.raises(Conflict, match="already rejected"):
        privileged_change_approve(change=change, by=second)


def test_only_the_requester_cancels(admins, approver):
    first, second = admins
    change = user_second_factor_reset(user=approver, by=first)
    with pytest.raises(NotAllowed, match="who asked"):
        privileged_change_cancel(change=change, by=second)
    privileged_change_cancel(change=change, by=first)
    assert PrivilegedChange.objects.get(pk=change.pk).status == "cancelled"
    assert _events(EventType.PRIVILEGED_CHANGE_CANCELLED)[0].actor == "administrator"


def test_a_reset_link_is_not_sent_to_an_address_changed_after_the_request(
    admins, approver, mailoutbox
):
    first, second = admins
    change = user_password_reset(user=approver, by=first)
    type(approver).objects.filter(pk=approver.pk).update(email="attacker@example.org")
    with pytest.raises(Conflict, match="e-mail address changed"):
        privileged_change_approve(change=change, by=second)
    assert mailoutbox == []
    approver.refresh_from_db()
    assert approver.has_usable_password()


def test_a_privileged_reset_needs_an_address_to_send_the_link_to(admins, users):
    first, _ = admins
    with pytest.raises(ValidationFailed, match="no e-mail address"):
        user_password_reset(user=users[Role.APPROVING_OFFICER], by=first)
    assert not PrivilegedChange.objects.exists()


def test_the_set_password_link_works_once_and_only_the_user_knows_the_password(
    admins, approver, mailoutbox, django_capture_on_commit_callbacks
):
    first, second = admins
    old_token = api_token_create(user=approver)[1]
    change = user_password_reset(user=approver, by=first)
    with django_capture_on_commit_callbacks(execute=True):
        privileged_change_approve(change=change, by=second)
    api = Client()
    assert (
        api.get("/api/v1/card-requests/", HTTP_AUTHORIZATION=f"Token {old_token}").status_code
        == 401
    )

    link = re.search(r"https?://\S+", mailoutbox[0].body).group(0)
    path = link.split("://", 1)[1].split("/", 1)[1]
    browser = Client()
    form_page = browser.get(f"/{path}", follow=True)
    assert "Choose your new password" in form_page.content.decode()
    chosen = "only the approver knows this 42"
    done = browser.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": chosen, "new_password2": chosen},
        follow=True,
    )
    assert "Your password is set" in done.content.decode()
    assert password_works(approver.username, chosen)
    again = Client().get(f"/{path}", follow=True)
    assert "This link is not valid" in again.content.decode()
    (event,) = _events(EventType.USER_PASSWORD_SET_BY_LINK)
    assert event.actor == approver.username
    assert chosen not in str(event.payload)


def test_changes_to_a_user_without_a_privileged_role_take_effect_at_once(admins, users):
    first, _ = admins
    encoder = users[Role.ENCODING_OPERATOR]
    TOTPDevice.objects.create(user=encoder, name="phone")
    api_token_create(user=encoder)
    assert user_second_factor_reset(user=encoder, by=first) is None
    assert user_api_tokens_revoke(user=encoder, by=first) is None
    assert not TOTPDevice.objects.filter(user=encoder).exists()
    assert not encoder.api_tokens.active().exists()
    (reset,) = _events(EventType.USER_SECOND_FACTOR_RESET)
    assert (reset.actor, reset.payload["devices_removed"]) == ("administrator", 1)
    assert _events(EventType.API_TOKENS_REVOKED)[0].payload["count"] == 1


def test_a_privileged_users_second_factor_stays_until_approved(admins, approver):
    first, second = admins
    TOTPDevice.objects.create(user=approver, name="phone")
    change = user_second_factor_reset(user=approver, by=first)
    assert TOTPDevice.objects.filter(user=approver).exists()
    privileged_change_approve(change=change, by=second)
    assert not TOTPDevice.objects.filter(user=approver).exists()


def test_the_same_change_is_not_asked_twice(admins, approver):
    first, second = admins
    change = user_second_factor_reset(user=approver, by=first)
    with pytest.raises(Conflict, match=f"#{change.pk}"):
        user_second_factor_reset(user=approver, by=second)


def test_the_api_lists_and_decides_with_the_error_shape(admins, approver, api):
    first, second = admins
    asked = api.as_user(first).post(
        "/api/v1/privileged-changes/",
        {"kind": "reset_second_factor", "user": approver.username, "reason": "lost phone"},
    )
    assert asked.status_code == 201, asked.content
    assert asked.json()["status"] == "pending"
    pk = asked.json()["id"]
    own = api.as_user(first).post(f"/api/v1/privileged-changes/{pk}/approve/")
    assert own.status_code == 403
    assert own.json()["code"] == "four_eyes"
    refused = api.as_user(approver).post(f"/api/v1/privileged-changes/{pk}/approve/")
    assert refused.status_code == 403
    assert refused.json()["code"] == "permission_denied"
    assert api.as_user(approver).get("/api/v1/privileged-changes/").status_code == 403
    listed = api.as_user(second).get("/api/v1/privileged-changes/?status=pending").json()
    assert [item["id"] for item in listed["results"]] == [pk]
    decided = api.as_user(second).post(f"/api/v1/privileged-changes/{pk}/approve/")
    assert decided.json()["decided_by"] == "second-admin"

    applied = api.as_user(first).post(
        "/api/v1/privileged-changes/",
        {"kind": "grant_role", "user": "auditor", "role": Role.ENCODING_OPERATOR.value},
    )
    assert applied.status_code == 200
    assert applied.json() == {"status": "applied"}
    bad = api.as_user(first).post(
        "/api/v1/privileged-changes/", {"kind": "grant_role", "user": "auditor", "role": "pope"}
    )
    assert bad.status_code == 400
    assert bad.json()["errors"] == [{"field": "role", "message": "no role 'pope'"}]


def test_a_further_privileged_role_keeps_the_credentials_already_under_dual_control(admins):
    first, second = admins
    change = user_role_grant(user=second, role=_role(Role.APPROVING_OFFICER), by=first)
    assert change.target_email == ""  # no link will be sent: none is needed
    third = make_user(Role.ADMINISTRATOR, username="third-admin")
    privileged_change_approve(change=change, by=third)
    second.refresh_from_db()
    assert second.groups.filter(name=Role.APPROVING_OFFICER.value).exists()
    assert second.has_usable_password()


def test_a_grant_asked_for_a_privileged_user_who_lost_their_role_is_refused(admins):
    first, second = admins
    change = user_role_grant(user=second, role=_role(Role.APPROVING_OFFICER), by=first)
    second.groups.clear()  # meanwhile no longer privileged: their password was never dual-controlled
    third = make_user(Role.ADMINISTRATOR, username="third-admin")
    with pytest.raises(Conflict, match="roles changed since the request"):
        privileged_change_approve(change=change, by=third)
    assert not second.groups.exists()
