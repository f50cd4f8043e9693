"""Finishing a job: the card is marked personalized, and a card it replaces is retired."""

from __future__ import annotations

import pytest

from audit.events import EventType
from audit.models import AuditEvent
from audit.selectors import audit_chain_verify
from personalization.models import Card, PersonalizationJob
from personalization.runner.engine import Outcome, job_run
from pki.models import Certificate

pytestmark = pytest.mark.django_db


def _personalize(request) -> Card:
    job = PersonalizationJob.objects.get(card_request=request)
    assert job_run(job_id=job.pk, worker="test") is Outcome.DONE
    job.refresh_from_db()
    return job.card


def test_a_replacement_card_retires_the_previous_one_and_its_certificates(approved):
    first = _personalize(approved("hpc-physician"))
    second = _personalize(
        approved("hpc-physician", reason="replacement", professional=first.professional)
    )

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (Card.Status.REPLACED, Card.Status.PERSONALIZED)
    assert {c.status for c in Certificate.objects.for_card(first)} == {"revoked"}
    assert {c.status for c in Certificate.objects.for_card(second)} == {"valid"}
    replaced = AuditEvent.objects.get(event=EventType.CARD_REPLACED, object_id=str(first.pk))
    assert replaced.payload["by_card"] == second.serial
    assert len(replaced.payload["revoked"]) == 4
    personalized = AuditEvent.objects.get(
        event=EventType.CARD_PERSONALIZED, object_id=str(second.pk)
    )
    assert personalized.payload["professional"] == second.professional.rpps
    assert personalized.payload["profile"] == "hpc-physician"
    assert personalized.payload["profile_version"] == second.profile_version.number
    assert audit_chain_verify().intact


def test_a_card_of_another_profile_is_not_replaced(approved):
    ecc = _personalize(approved("hpc-physician"))
    rsa = _personalize(approved("hpc-rsa", professional=ecc.professional))
    ecc.refresh_from_db()
    assert (ecc.status, rsa.status) == (Card.Status.PERSONALIZED, Card.Status.PERSONALIZED)
