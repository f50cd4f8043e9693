"""Finishing a job: the card is marked personalized; a card it replaces is retired when the new
one is activated."""

from __future__ import annotations

import pytest
from django.db import transaction

from accounts.roles import Role
from audit.events import EventType
from audit.models import AuditEvent
from audit.selectors import audit_chain_verify
from cardedge.piv.constants import Ins
from cards.models import Card
from cards.services.cards import card_fail
from personalization.models import PersonalizationJob
from personalization.runner.engine import Outcome, job_run
from pki.models import Certificate
from tests.cards.holder import hand_over_and_activate
from tests.personalization.jobs.faults import Fault, install

pytestmark = pytest.mark.django_db


def _personalize(request) -> Card:
    job = PersonalizationJob.objects.get(card_request=request)
    assert job_run(job_id=job.pk, worker="test") is Outcome.DONE
    job.refresh_from_db()
    return job.card


def test_a_replacement_card_supersedes_the_previous_one_once_activated(approved, users):
    """The holder keeps a working card until the new one is activated: personalizing the
    replacement changes nothing on the first; activating it revokes the first (superseded)."""
    first = _personalize(approved("hpc-physician"))
    first = hand_over_and_activate(first, officer=users[Role.ENCODING_OPERATOR])
    second = _personalize(
        approved("hpc-physician", reason="replacement", professional=first.professional)
    )

    first.refresh_from_db()
    assert (first.status, second.status) == (Card.Status.ACTIVE, Card.Status.PERSONALIZED)
    assert {c.status for c in Certificate.objects.for_card(first)} == {"valid"}
    personalized = AuditEvent.objects.get(
        event=EventType.CARD_PERSONALIZED, object_id=str(second.pk)
    )
    assert personalized.payload["professional"] == second.professional.rpps
    assert personalized.payload["profile"] == "hpc-physician"
    assert personalized.payload["profile_version"] == second.profile_version.number

    second = hand_over_and_activate(second, officer=users[Role.ENCODING_OPERATOR])
    first.refresh_from_db()
    assert (first.status, first.revocation_reason) == (Card.Status.REVOKED, "superseded")
    assert {c.status for c in Certificate.objects.for_card(first)} == {"revoked"}
    assert {c.status for c in Certificate.objects.for_card(second)} == {"valid"}
    activated = AuditEvent.objects.get(event=EventType.CARD_ACTIVATED, object_id=str(second.pk))
    assert activated.payload["superseded"] == [first.serial]
    revoked = AuditEvent.objects.get(event=EventType.CARD_REVOKED, object_id=str(first.pk))
    assert (revoked.payload["reason"], len(revoked.payload["revoked"])) == ("superseded", 4)
    assert audit_chain_verify().intact


def test_a_card_of_another_profile_is_not_replaced(approved):
    ecc = _personalize(approved("hpc-physician"))
    rsa = _personalize(approved("hpc-rsa", professional=ecc.professional))
    ecc.refresh_from_db()
    assert (ecc.status, rsa.status) == (Card.Status.PERSONALIZED, Card.Status.PERSONALIZED)


def test_a_card_ended_while_its_job_ran_is_never_marked_personalized(approved, monkeypatch):
    """Only a card still being personalized becomes good: one ended meanwhile (failed, its
    certificates revoked) stays failed, and its job fails naming it."""
    request = approved("hpc-physician")
    job = PersonalizationJob.objects.get(card_request=request)

    def ended_elsewhere():
        card = PersonalizationJob.objects.select_related("card").get(pk=job.pk).card
        with transaction.atomic():
            card_fail(card=card, comment="ended while its job ran")

    # Midway through the job (the third GENERAL AUTHENTICATE the card answers), before it ends.
    install(monkeypatch, Fault(Ins.GENERAL_AUTHENTICATE, 3, action=ended_elsewhere), steps=True)
    assert job_run(job_id=job.pk, worker="test") is Outcome.FAILED

    job.refresh_from_db()
    assert (job.status, job.error_code) == ("failed", "Conflict")
    assert "no longer being personalized" in job.error_message
    assert job.card.status == Card.Status.FAILED
    assert {c.status for c in Certificate.objects.for_card(job.card)} == {"revoked"}
    assert not AuditEvent.objects.filter(event=EventType.CARD_PERSONALIZED).exists()
    assert audit_chain_verify().intact
