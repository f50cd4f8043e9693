"""A card's states and the moves between them, table-driven: from every state, every operation
a user (or the scheduler) can attempt, through the services and through the API. An allowed
move changes the card and its certificates as the issue says; a forbidden one is refused with
`card_transition_refused` and changes nothing (no state, no certificate, no audit event)."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from django.db import transaction

from accounts.roles import Role
from audit.models import AuditEvent
from cards.models import Card, CardActionRequest
from cards.services import card_actions, cards
from config.errors import DomainError
from pki.models import Certificate
from pki.reasons import RevocationReason
from pki.services.revocation import card_certificates_revoke
from tests.cards.holder import holder_pin, holder_signs

pytestmark = pytest.mark.django_db

S = Card.Status
# The issue's table, written out here (not read from the code it checks).
SPEC: dict[str, set[str]] = {
    S.PERSONALIZING: {S.PERSONALIZED, S.FAILED},
    S.PERSONALIZED: {S.DELIVERED, S.REVOKED, S.EXPIRED},
    S.DELIVERED: {S.ACTIVE, S.REVOKED, S.EXPIRED},
    S.ACTIVE: {S.SUSPENDED, S.REVOKED, S.EXPIRED},
    S.SUSPENDED: {S.ACTIVE, S.REVOKED, S.EXPIRED},
    S.REVOKED: {S.DESTROYED},
    S.EXPIRED: {S.DESTROYED},
    S.FAILED: {S.DESTROYED},
    S.DESTROYED: set(),
}
# operation -> (the state it makes, the only state it starts from when another operation makes
# the same state: activation is the holder's from delivered, resumption from suspended)
OPERATIONS = {
    "deliver": (S.DELIVERED, None),
    "activate": (S.ACTIVE, S.DELIVERED),
    "suspend": (S.SUSPENDED, None),
    "resume": (S.ACTIVE, S.SUSPENDED),
    "revoke": (S.REVOKED, None),
    "expire": (S.EXPIRED, None),
    "destroy": (S.DESTROYED, None),
}
# What an allowed operation leaves the card's four certificates as.
CERTIFICATES_AFTER = {
    "suspend": {"on_hold"},
    "resume": {"valid"},
    "revoke": {"revoked"},
}


def test_the_code_has_the_issues_table():
    table = {state: set(targets) for state, targets in cards.TRANSITIONS.items()}
    assert table.pop(cards.NEW) == {S.PERSONALIZING}
    assert table == SPEC
    assert set(table) == set(S.values)


def _force(card: Card, state: str) -> None:
    """Put the card (and its certificates) in `state` as the moves that lead there would."""
    fields = {"status": state}
    if state in (S.SUSPENDED,):
        card_certificates_revoke(card=card, reason=RevocationReason.CERTIFICATE_HOLD, comment="")
    if state in (S.REVOKED,):
        card_certificates_revoke(card=card, reason=RevocationReason.KEY_COMPROMISE, comment="")
        fields.update(revoked_at=card.issued_at, revocation_reason="lost")
    Card.objects.filter(pk=card.pk).update(**fields)
    card.refresh_from_db()


def _certificates(card: Card) -> list[str]:
    return list(Certificate.objects.for_card(card).order_by("pk").values_list("status", flat=True))


class ViaServices:
    def __init__(self, users, api):
        self.users = users

    def run(self, operation: str, card: Card) -> str | None:
        """None when done, else the refusal's code."""
        officer, approver = self.users[Role.ENROLMENT_OFFICER], self.users[Role.APPROVING_OFFICER]
        try:
            if operation == "deliver":
                cards.card_deliver(card=card, by=self.users[Role.ENCODING_OPERATOR])
            elif operation == "activate":
                pin = holder_pin(card)
                challenge = cards.card_activation_challenge(card=card)
                cards.card_activate(
                    card=card,
                    challenge_id=challenge.pk,
                    signature=holder_signs(card, bytes(challenge.challenge), pin=pin),
                )
            elif operation in ("suspend", "resume", "revoke"):
                asked = card_actions.card_action_request(
                    card=card,
                    action=operation,
                    reason="lost" if operation == "revoke" else "",
                    by=officer,
                )
                card_actions.card_action_approve(card_action=asked, by=approver)
            elif operation == "expire":
                if card.serial not in cards.cards_expire(now=card.expires_at + dt.timedelta(1)):
                    return "not_expired"
            elif operation == "destroy":
                cards.card_destroy(card=card, by=self.users[Role.ENCODING_OPERATOR])
        except DomainError as refused:
            return refused.code
        return None


class ViaApi(ViaServices):
    def __init__(self, users, api):
        super().__init__(users, api)
        self.api = api

    def _post(self, user, url: str, data: dict | None = None):
        return self.api.as_user(user).post(url, data or {}, format="json")

    def run(self, operation: str, card: Card) -> str | None:
        officer, approver = self.users[Role.ENROLMENT_OFFICER], self.users[Role.APPROVING_OFFICER]
        operator = self.users[Role.ENCODING_OPERATOR]
        if operation in ("expire",):  # the scheduler's, not a user's: no API
            return super().run(operation, card)
        if operation == "deliver":
            response = self._post(operator, f"/api/v1/cards/{card.pk}/delivery/")
        elif operation == "destroy":
            response = self._post(operator, f"/api/v1/cards/{card.pk}/destruction/")
        elif operation == "activate":
            pin = holder_pin(card)
            response = self._post(None, f"/api/v1/activation/{card.serial}/challenge/")
            if response.status_code == 201:
                challenge = response.json()
                signature = holder_signs(card, base64.b64decode(challenge["challenge"]), pin=pin)
                response = self._post(
                    None,
                    f"/api/v1/activation/{card.serial}/",
                    {
                        "challenge_id": challenge["challenge_id"],
                        "signature": base64.b64encode(signature).decode(),
                    },
                )
        else:
            response = self._post(
                officer,
                "/api/v1/card-actions/",
                {
                    "card": card.pk,
                    "action": operation,
                    "reason": "lost" if operation == "revoke" else "",
                },
            )
            if response.status_code == 201:
                asked = response.json()["id"]
                response = self._post(approver, f"/api/v1/card-actions/{asked}/approve/")
        if response.status_code in (200, 201):
            return None
        assert response.status_code == 409, response.json()
        return response.json()["code"]


@pytest.mark.parametrize("interface", [ViaServices, ViaApi], ids=["services", "api"])
def test_every_move_from_every_state(personalized, users, api, interface):
    card = personalized()
    via = interface(users, api)
    outcomes = {}
    for state in S.values:
        for operation, (target, only_from) in OPERATIONS.items():
            allowed = target in SPEC[state] and only_from in (None, state)
            with transaction.atomic():
                _force(card, state)
                certificates_before = _certificates(card)
                events_before = AuditEvent.objects.count()
                refused = via.run(operation, card)
                card.refresh_from_db()
                outcomes[state, operation] = (refused, card.status)
                if allowed:
                    assert refused is None, (state, operation, refused)
                    assert card.status == target, (state, operation)
                    expected = CERTIFICATES_AFTER.get(operation)
                    if expected:
                        assert set(_certificates(card)) == expected, (state, operation)
                    assert AuditEvent.objects.count() > events_before
                else:
                    assert refused in ("card_transition_refused", "not_expired"), (
                        state,
                        operation,
                        refused,
                    )
                    assert card.status == state, (state, operation)
                    assert _certificates(card) == certificates_before, (state, operation)
                    assert AuditEvent.objects.count() == events_before, (state, operation)
                    assert not CardActionRequest.objects.filter(card=card).exists()
                transaction.set_rollback(True)
    assert len(outcomes) == len(S.values) * len(OPERATIONS)


def test_a_refusal_names_the_state_and_what_it_can_become(personalized, users):
    card = personalized()
    with pytest.raises(DomainError) as refused:
        card_actions.card_action_request(
            card=card, action="suspend", by=users[Role.ENROLMENT_OFFICER]
        )
    assert refused.value.code == "card_transition_refused"
    assert refused.value.message == (
        f"card {card.serial} is personalized; it cannot become suspended "
        "(it can become: delivered, revoked, expired)"
    )
