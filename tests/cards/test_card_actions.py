"""Four eyes on a card's suspension and revocation, the administrator's emergency path, and the
holder's activation: who may do what, and what each refusal leaves."""

from __future__ import annotations

import base64

import pytest
from django.db import IntegrityError, transaction

from accounts.roles import Role
from audit.events import EventType
from audit.models import AuditEvent
from cards.models import ActivationChallenge, Card, CardActionRequest
from cards.services.card_actions import (
    card_action_approve,
    card_action_cancel,
    card_action_reject,
    card_action_request,
    card_revoke_emergency,
)
from cards.services.cards import card_activate, card_activation_challenge, card_deliver
from config.errors import FourEyesViolation, NotAllowed, ValidationFailed
from pki.models import Certificate
from tests.cards.holder import hand_over_and_activate, holder_pin, holder_signs
from tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def active(personalized, users) -> Card:
    return hand_over_and_activate(personalized(), officer=users[Role.ENCODING_OPERATOR])


def _statuses(card: Card) -> set[str]:
    return set(Certificate.objects.for_card(card).values_list("status", flat=True))


@pytest.mark.parametrize("action", ["suspend", "revoke"])
def test_the_officer_who_asked_cannot_approve_whatever_their_roles(active, users, action):
    """Not even an administrator, who holds every card permission, approves their own
    request; the database refuses what the service would let through."""
    admin = users[Role.ADMINISTRATOR]
    asked = card_action_request(
        card=active, action=action, reason="stolen" if action == "revoke" else "", by=admin
    )
    with pytest.raises(FourEyesViolation):
        card_action_approve(card_action=asked, by=admin)
    active.refresh_from_db()
    assert active.status == Card.Status.ACTIVE
    assert _statuses(active) == {"valid"}
    asked.refresh_from_db()
    assert asked.status == CardActionRequest.Status.PENDING
    # Forced past the service, the database's CHECK refuses it too.
    with (
        pytest.raises(IntegrityError, match="card_action_decider_is_not_requester"),
        transaction.atomic(),
    ):
        CardActionRequest.objects.filter(pk=asked.pk).update(
            status="approved", decided_by=admin, decided_at=asked.requested_at
        )

    card_action_approve(card_action=asked, by=users[Role.APPROVING_OFFICER])
    active.refresh_from_db()
    assert active.status == (Card.Status.SUSPENDED if action == "suspend" else Card.Status.REVOKED)


def test_self_approval_is_refused_through_the_api(active, users, api):
    officer = users[Role.ADMINISTRATOR]
    response = api.as_user(officer).post(
        "/api/v1/card-actions/",
        {"card": active.pk, "action": "revoke", "reason": "lost"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    refused = api.as_user(officer).post(f"/api/v1/card-actions/{response.json()['id']}/approve/")
    assert refused.status_code == 403
    assert refused.json()["code"] == "four_eyes"
    active.refresh_from_db()
    assert active.status == Card.Status.ACTIVE


def test_who_may_ask_and_decide(active, users):
    with pytest.raises(NotAllowed):
        card_action_request(card=active, action="suspend", by=users[Role.AUDITOR])
    with pytest.raises(NotAllowed):
        card_action_request(card=active, action="suspend", by=users[Role.ENCODING_OPERATOR])
    asked = card_action_request(card=active, action="suspend", by=users[Role.ENROLMENT_OFFICER])
    with pytest.raises(NotAllowed):
        card_action_approve(card_action=asked, by=users[Role.ENCODING_OPERATOR])
    with pytest.raises(NotAllowed):
        card_action_cancel(card_action=asked, by=users[Role.ADMINISTRATOR])
    with pytest.raises(ValidationFailed, match="comment"):
        card_action_reject(card_action=asked, by=users[Role.APPROVING_OFFICER], comment=" ")
    card_action_reject(card_action=asked, by=users[Role.APPROVING_OFFICER], comment="not needed")
    active.refresh_from_db()
    assert active.status == Card.Status.ACTIVE
    rejected = AuditEvent.objects.get(event=EventType.CARD_ACTION_REJECTED)
    assert rejected.payload["requested_by"] == users[Role.ENROLMENT_OFFICER].username


def test_a_revocation_needs_a_known_reason_and_one_pending_request_per_card(active, users):
    officer = users[Role.ENROLMENT_OFFICER]
    with pytest.raises(ValidationFailed, match="a revocation needs a reason"):
        card_action_request(card=active, action="revoke", by=officer)
    with pytest.raises(ValidationFailed, match="unknown reason 'misplaced'"):
        card_action_request(card=active, action="revoke", reason="misplaced", by=officer)
    with pytest.raises(ValidationFailed, match="only a revocation has a reason"):
        card_action_request(card=active, action="suspend", reason="lost", by=officer)
    card_action_request(card=active, action="suspend", by=officer)
    with pytest.raises(Exception, match="already has a pending action request"):
        card_action_request(card=active, action="revoke", reason="lost", by=officer)


def test_a_request_overtaken_by_events_is_refused_when_approved(active, users):
    """Asked while active, the suspension is approved after the card was revoked: refused,
    nothing half done."""
    asked = card_action_request(card=active, action="suspend", by=users[Role.ENROLMENT_OFFICER])
    card_revoke_emergency(
        card=active, reason="stolen", by=users[Role.ADMINISTRATOR], comment="used in a theft"
    )
    asked.refresh_from_db()
    assert asked.status == CardActionRequest.Status.CANCELLED  # the emergency cancelled it
    with pytest.raises(Exception, match="already cancelled"):
        card_action_approve(card_action=asked, by=users[Role.APPROVING_OFFICER])


def test_the_administrators_emergency_revocation_is_flagged(active, users):
    admin = users[Role.ADMINISTRATOR]
    with pytest.raises(NotAllowed):
        card_revoke_emergency(
            card=active, reason="stolen", by=users[Role.APPROVING_OFFICER], comment="x"
        )
    with pytest.raises(ValidationFailed, match="comment"):
        card_revoke_emergency(card=active, reason="stolen", by=admin, comment="")
    card_revoke_emergency(card=active, reason="stolen", by=admin, comment="stolen at the ward")
    active.refresh_from_db()
    assert (active.status, active.revocation_reason) == (Card.Status.REVOKED, "stolen")
    assert _statuses(active) == {"revoked"}
    assert set(
        Certificate.objects.for_card(active).values_list("revocation_reason", flat=True)
    ) == {1}  # keyCompromise
    event = AuditEvent.objects.get(event=EventType.CARD_REVOKED)
    assert event.payload["emergency"] is True
    assert event.actor == admin.username
    assert event.payload["comment"] == "stolen at the ward"
    assert event.payload["certificate_reason"] == "keyCompromise"


def test_an_approved_request_is_not_flagged_as_an_emergency(active, users):
    asked = card_action_request(
        card=active, action="revoke", reason="left_profession", by=users[Role.ENROLMENT_OFFICER]
    )
    card_action_approve(card_action=asked, by=users[Role.APPROVING_OFFICER])
    event = AuditEvent.objects.get(event=EventType.CARD_REVOKED)
    assert event.payload["emergency"] is False
    assert event.payload["request"] == asked.pk
    assert event.payload["certificate_reason"] == "privilegeWithdrawn"


# --- activation ----------------------------------------------------------------------------


def test_activation_needs_the_cards_own_signature_once_per_challenge(personalized, users):
    card = personalized()
    other = personalized()
    pin = holder_pin(card)
    card = card_deliver(card=card, by=users[Role.ENCODING_OPERATOR])
    challenge = card_activation_challenge(card=card)
    # Another card's signature over the right challenge: refused, audited, challenge used up.
    with pytest.raises(ValidationFailed, match="signature"):
        card_activate(
            card=card,
            challenge_id=challenge.pk,
            signature=holder_signs(other, bytes(challenge.challenge)),
        )
    card.refresh_from_db()
    assert card.status == Card.Status.DELIVERED
    assert AuditEvent.objects.filter(event=EventType.CARD_ACTIVATION_REFUSED).count() == 1
    good = holder_signs(card, bytes(challenge.challenge), pin=pin)
    with pytest.raises(ValidationFailed, match="challenge"):
        card_activate(card=card, challenge_id=challenge.pk, signature=good)
    # A fresh challenge, signed by the card after its PIN: active.
    fresh = card_activation_challenge(card=card)
    card = card_activate(
        card=card,
        challenge_id=fresh.pk,
        signature=holder_signs(card, bytes(fresh.challenge), pin=pin),
    )
    assert card.status == Card.Status.ACTIVE
    assert card.activated_at is not None


def test_a_card_has_few_open_challenges(personalized, users):
    card = card_deliver(card=personalized(), by=users[Role.ENCODING_OPERATOR])
    for _ in range(10):
        card_activation_challenge(card=card)
    assert ActivationChallenge.objects.filter(card=card, used_at__isnull=True).count() == 3


def test_activation_over_the_api_needs_no_account_but_a_signature(personalized, users, api):
    card = personalized()
    pin = holder_pin(card)
    assert api.post(f"/api/v1/activation/{card.serial}/challenge/").status_code == 409
    card_deliver(card=card, by=users[Role.ENCODING_OPERATOR])
    challenge = api.post(f"/api/v1/activation/{card.serial}/challenge/").json()
    bad = api.post(
        f"/api/v1/activation/{card.serial}/",
        {"challenge_id": challenge["challenge_id"], "signature": "not base64!"},
        format="json",
    )
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "signature"
    signature = holder_signs(card, base64.b64decode(challenge["challenge"]), pin=pin)
    done = api.post(
        f"/api/v1/activation/{card.serial}/",
        {
            "challenge_id": challenge["challenge_id"],
            "signature": base64.b64encode(signature).decode(),
        },
        format="json",
    )
    assert done.status_code == 200, done.json()
    assert done.json()["status"] == "active"
    assert api.post("/api/v1/activation/000000000000/challenge/").status_code == 404


def test_a_user_without_the_role_cannot_deliver_or_destroy(personalized, api):
    card = personalized()
    nobody = make_user(None, username="nobody")
    response = api.as_user(nobody).post(f"/api/v1/cards/{card.pk}/delivery/")
    assert response.status_code == 403
    response = api.as_user(nobody).post(
        f"/api/v1/cards/{card.pk}/emergency-revocation/",
        {"reason": "lost", "comment": "x"},
        format="json",
    )
    assert response.status_code == 403
    card.refresh_from_db()
    assert card.status == Card.Status.PERSONALIZED
