"""The back office's pages of a card's life: what each role is offered on a card's page, the
professional's cards, the queue of card action requests, honest statuses."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse

from accounts.roles import Role
from cards.models import Card
from cards.services.card_actions import card_action_approve, card_action_request
from cards.services.cards import card_fail, card_new
from tests.cards.holder import hand_over_and_activate
from tests.factories import sign_in_verified

pytestmark = pytest.mark.django_db


def _page(user, name: str, *args) -> str:
    client = Client()
    sign_in_verified(client, user)
    response = client.get(reverse(name, args=args))
    assert response.status_code == 200
    return response.content.decode()


def test_each_role_is_offered_what_it_may_do_on_an_active_card(personalized, users):
    card = hand_over_and_activate(personalized(), officer=users[Role.ENCODING_OPERATOR])
    offered = {
        role: _page(users[role], "card-detail", card.pk)
        for role in (
            Role.ENROLMENT_OFFICER,
            Role.APPROVING_OFFICER,
            Role.AUDITOR,
            Role.ADMINISTRATOR,
        )
    }
    assert 'id="card-action-form"' in offered[Role.ENROLMENT_OFFICER]
    assert 'id="emergency"' not in offered[Role.ENROLMENT_OFFICER]
    assert 'id="card-action-form"' not in offered[Role.APPROVING_OFFICER]
    assert 'id="card-action-form"' not in offered[Role.AUDITOR]
    assert 'id="emergency"' in offered[Role.ADMINISTRATOR]
    assert "Suspension" in offered[Role.ENROLMENT_OFFICER]  # an active card can be suspended


def test_the_approver_is_offered_the_decision_and_the_asker_only_to_withdraw(personalized, users):
    card = hand_over_and_activate(personalized(), officer=users[Role.ENCODING_OPERATOR])
    card_action_request(card=card, action="suspend", by=users[Role.ENROLMENT_OFFICER])
    asker = _page(users[Role.ENROLMENT_OFFICER], "card-detail", card.pk)
    assert "Withdraw my request" in asker
    assert 'id="approve-action"' not in asker
    approver = _page(users[Role.APPROVING_OFFICER], "card-detail", card.pk)
    assert 'id="approve-action"' in approver
    assert "Approve the suspension" in approver
    queue = _page(users[Role.APPROVING_OFFICER], "card-action-list")
    assert card.serial in queue
    assert ">Approve</button>" in queue


def test_the_professionals_page_lists_their_cards_with_their_states(personalized, users):
    first = personalized()
    Card.objects.filter(pk=first.pk).update(
        status=Card.Status.REVOKED, revoked_at=first.issued_at, revocation_reason="damaged"
    )
    second = personalized(reason="replacement", professional=first.professional)
    page = _page(users[Role.ENROLMENT_OFFICER], "professional-detail", first.professional_id)
    table = page.split('id="professional-cards"', 1)[1].split("</table>", 1)[0]
    assert first.serial in table
    assert second.serial in table
    assert 'Revoked</span> <span class="muted">damaged' in table
    assert ">Personalized</span>" in table


def test_a_card_that_failed_before_any_certificate_shows_no_expiry(approved, users):
    request = approved()
    card = card_new(card_request=request, station=None)
    card.save()
    with transaction.atomic():
        card_fail(card=card, comment="no card in the reader")
    page = _page(users[Role.ENCODING_OPERATOR], "card-detail", card.pk)
    assert "Personalization failed" in page
    assert "certificates revoked" not in page
    assert "<dt>Expires</dt><dd>—</dd>" in page
    assert "No certificate was issued for this card." in page


def test_a_completed_request_says_when_its_card_was_revoked(personalized, users):
    card = personalized()
    page = _page(users[Role.ENROLMENT_OFFICER], "card-request-detail", card.card_request_id)
    assert "The card is personalized." in page
    Card.objects.filter(pk=card.pk).update(
        status=Card.Status.REVOKED, revoked_at=card.issued_at, revocation_reason="stolen"
    )
    page = _page(users[Role.ENROLMENT_OFFICER], "card-request-detail", card.card_request_id)
    state = page.split('id="request-card-state">', 1)[1].split("</p>", 1)[0]
    assert "then <strong>revoked</strong> (stolen" in state
    assert card.serial in state


def test_the_card_page_tells_its_whole_history(personalized, users):
    card = hand_over_and_activate(personalized(), officer=users[Role.ENCODING_OPERATOR])
    asked = card_action_request(
        card=card, action="revoke", reason="lost", by=users[Role.ENROLMENT_OFFICER]
    )
    card_action_approve(card_action=asked, by=users[Role.APPROVING_OFFICER])
    page = _page(users[Role.AUDITOR], "card-detail", card.pk)
    history = page.split('id="card-history"', 1)[1].split("</table>", 1)[0]
    expected_in_order = [
        "Card request submitted",
        "Card request approved",
        "Personalization job queued",
        "Certificate issued",
        "Card personalized",
        "Card delivered",
        "Card activated",
        "Card action requested",
        "Certificate revoked",
        "Card revoked",
    ]
    positions = [history.index(text) for text in expected_in_order]
    assert positions == sorted(positions), expected_in_order
    assert history.count("Certificate revoked") == 4
    assert "reason: lost" in history
    assert users[Role.APPROVING_OFFICER].username in history


def test_key_recovery_from_the_card_page_takes_two_approvals(personalized, users):
    from cards.models import KeyRecoveryRequest
    from tests.factories import make_user

    card = personalized("hpc-recoverable")
    admin = users[Role.ADMINISTRATOR]
    page = _page(admin, "card-detail", card.pk)
    assert 'id="key-recovery-form"' in page
    assert 'id="key-recovery-form"' not in _page(
        users[Role.APPROVING_OFFICER], "card-detail", card.pk
    )
    client = Client()
    sign_in_verified(client, admin)
    client.post(
        reverse("key-recovery-request", args=[card.pk]),
        {"recipient": "Me Durand, notary", "reason": "estate; order 2026/118"},
    )
    asked = KeyRecoveryRequest.objects.get(escrowed_key__card=card)
    assert "Give the first approval" not in _page(admin, "card-detail", card.pk)
    for approver, label in (
        (users[Role.APPROVING_OFFICER], "Give the first approval"),
        (make_user(Role.APPROVING_OFFICER, username="second-approver"), "Give the second approval"),
    ):
        assert label in _page(approver, "card-detail", card.pk)
        client = Client()
        sign_in_verified(client, approver)
        client.post(reverse("key-recovery-approve", args=[asked.pk]))
    asked.refresh_from_db()
    assert asked.status == "approved"


def test_one_card_a_holder_unless_the_profile_allows_several(personalized, users, profiles):
    from cardprofiles.services.versions import card_profile_edit
    from cards.services.card_requests import card_request_submit
    from config.errors import Conflict

    card = personalized()
    officer = users[Role.ENROLMENT_OFFICER]
    with pytest.raises(Conflict) as refused:
        card_request_submit(
            professional=card.professional, profile=profiles["hpc-physician"], by=officer
        )
    assert refused.value.code == "card_exists"
    assert f"({card.serial}, personalized)" in refused.value.message
    assert "allows one card a holder" in refused.value.message

    profile = profiles["hpc-physician"]
    definition = {**profile.current_version.definition, "cards_per_holder": "several"}
    card_profile_edit(profile=profile, definition=definition, by=users[Role.ADMINISTRATOR])
    profile.refresh_from_db()
    second = card_request_submit(professional=card.professional, profile=profile, by=officer)
    assert second.reason == "new"
