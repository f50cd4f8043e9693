"""Renewal: a card inside its profile's renewal window is found once; its renewal is a request
like any other; the holder keeps the old card working until the new one is activated, which
revokes the old one as superseded."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from audit.events import EventType
from audit.models import AuditEvent
from cards.models import Card, CardRequest
from cards.services.card_requests import card_request_approve
from cards.services.renewals import cards_due_for_renewal, renewals_run
from issuance.identity import identity_of
from personalization.models import PersonalizationJob
from personalization.runner.engine import Outcome, job_run
from pki.models import Certificate
from tests.cards.holder import hand_over_and_activate
from tests.factories import sign_in_verified

pytestmark = pytest.mark.django_db


def _expiring_in(card: Card, days: int) -> Card:
    Card.objects.filter(pk=card.pk).update(expires_at=timezone.now() + dt.timedelta(days=days))
    card.refresh_from_db()
    return card


@pytest.fixture
def active(personalized, users):
    def make(**options) -> Card:
        return hand_over_and_activate(
            personalized(**options), officer=users[Role.ENCODING_OPERATOR]
        )

    return make


def test_a_renewal_inside_the_window_keeps_the_old_card_until_the_new_one_is_activated(
    active, users, settings
):
    settings.CARDFORGE_RENEWALS = "request"
    settings.CARDFORGE_RENEWALS_SUBMITTED_BY = users[Role.ENROLMENT_OFFICER].username
    old = _expiring_in(active(), 60)  # inside the default 90-day window

    run = renewals_run()
    assert run.noticed == [old.serial]
    assert run.problems == []
    renewal = CardRequest.objects.get(pk=run.requested[0])
    assert (renewal.reason, renewal.status) == ("renewal", "submitted")
    assert renewal.identity == identity_of(old.professional, renewal.profile_version).as_json()
    assert f"renewal of card {old.serial}" in renewal.comment
    assert AuditEvent.objects.filter(event=EventType.CARD_RENEWAL_DUE).count() == 1
    assert renewals_run().noticed == []  # once a card

    card_request_approve(card_request=renewal, by=users[Role.APPROVING_OFFICER])
    job = PersonalizationJob.objects.get(card_request=renewal)
    assert job_run(job_id=job.pk, worker="w") is Outcome.DONE
    new = Card.objects.get(card_request=renewal)
    old.refresh_from_db()
    assert (old.status, new.status) == (Card.Status.ACTIVE, Card.Status.PERSONALIZED)
    assert set(Certificate.objects.for_card(old).values_list("status", flat=True)) == {"valid"}

    new = hand_over_and_activate(new, officer=users[Role.ENCODING_OPERATOR])
    old.refresh_from_db()
    assert new.status == Card.Status.ACTIVE
    assert (old.status, old.revocation_reason) == (Card.Status.REVOKED, "superseded")
    assert set(Certificate.objects.for_card(old).values_list("revocation_reason", flat=True)) == {
        4
    }  # superseded
    assert set(Certificate.objects.for_card(new).values_list("status", flat=True)) == {"valid"}


def test_notify_mode_tells_the_holder_once_and_the_dashboard_lists_the_card(
    active, users, mailoutbox
):
    card = _expiring_in(active(), 20)
    far = _expiring_in(active(), 200)  # outside the window
    run = renewals_run()
    assert (run.noticed, run.requested) == ([card.serial], [])
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [card.professional.email]
    assert card.serial in mailoutbox[0].subject
    assert renewals_run().noticed == []
    assert len(mailoutbox) == 1

    client = Client()
    sign_in_verified(client, users[Role.ENROLMENT_OFFICER])
    page = client.get(reverse("dashboard")).content.decode()
    table = page.split('id="expiring"', 1)[1].split("</table>", 1)[0]
    assert card.serial in table
    assert far.serial not in table
    assert "due since" in table
    counts = page.split('id="expiring-counts"', 1)[1].split("</p>", 1)[0]
    assert "<strong>1</strong> within 30 days" in counts


def test_what_is_not_due(active, personalized, users):
    suspended = _expiring_in(active(), 10)
    Card.objects.filter(pk=suspended.pk).update(status=Card.Status.SUSPENDED)
    undelivered = _expiring_in(personalized(), 10)  # not yet in its holder's hands
    renewing = _expiring_in(active(), 10)
    personalized(reason="renewal", professional=renewing.professional)  # a newer card is made
    assert cards_due_for_renewal() == []
    assert renewals_run().noticed == []
    assert undelivered.status == Card.Status.PERSONALIZED


def test_request_mode_without_a_submitter_says_what_is_missing(active, settings):
    settings.CARDFORGE_RENEWALS = "request"
    settings.CARDFORGE_RENEWALS_SUBMITTED_BY = "nobody"
    card = _expiring_in(active(), 10)
    run = renewals_run()
    assert run.noticed == []
    assert "CARDFORGE_RENEWALS_SUBMITTED_BY to name an active account" in run.problems[0]
    card.refresh_from_db()
    assert card.renewal_due_at is None  # tried again once configured
