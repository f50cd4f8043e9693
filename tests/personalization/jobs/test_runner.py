"""The job runner in process, on the emulated station: steps, journal, resumption, failure."""

from __future__ import annotations

import os

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding

from audit.events import EventType
from audit.models import AuditEvent
from audit.selectors import audit_chain_verify
from cardedge.piv import PivClient, Slot
from cardedge.piv.algorithms import algorithm_of
from cardedge.piv.errors import SecurityStatusNotSatisfied
from cardedge.transports.emulated import EmulatedTransport
from cards.models import Card, CardRequest, PinMailer
from cards.services.secrets import pin_mailer_secrets
from personalization.emulated_cards import emulated_card_open
from personalization.models import JobStep, PersonalizationJob
from personalization.runner.engine import Outcome, job_run, step_names
from pki.models import Certificate

pytestmark = pytest.mark.django_db


def _job(request: CardRequest) -> PersonalizationJob:
    return PersonalizationJob.objects.get(card_request=request)


def test_approval_queues_a_job_and_the_runner_personalizes_the_card(approved):
    request = approved("hpc-physician")
    job = _job(request)
    assert job.status == "waiting"

    assert job_run(job_id=job.pk, worker="test") is Outcome.DONE

    job.refresh_from_db()
    request.refresh_from_db()
    card = job.card
    assert job.status == "done"
    assert request.status == CardRequest.Status.COMPLETED
    assert card.status == Card.Status.PERSONALIZED
    assert list(JobStep.objects.filter(job=job).values_list("name", flat=True)) == step_names(job)
    certificates = {c.card_slot: c for c in Certificate.objects.for_card(card)}
    assert set(certificates) == {"9A", "9C", "9D", "9E"}
    assert all(c.status == "valid" for c in certificates.values())
    assert PinMailer.objects.get(card=card).is_available
    assert AuditEvent.objects.filter(
        event=EventType.CARD_PERSONALIZED, object_id=str(card.pk)
    ).exists()
    assert audit_chain_verify().intact


def test_the_card_works_the_next_day_and_9c_wants_the_pin_every_time(approved):
    job = _job(approved("hpc-physician"))
    job_run(job_id=job.pk, worker="test")
    job.refresh_from_db()
    card = job.card
    pin, _ = pin_mailer_secrets(card.pin_mailer)
    # A new process opens the same card from the database.
    client = PivClient.connect(EmulatedTransport(emulated_card_open(card.emulated_card)))
    certificates = {
        c.card_slot: x509.load_der_x509_certificate(bytes(c.der))
        for c in Certificate.objects.for_card(card)
    }
    assert client.read_certificate(Slot.DIGITAL_SIGNATURE) == certificates["9C"]
    public_key = certificates["9C"].public_key()
    for _ in range(2):
        challenge = os.urandom(32)
        client.verify_pin(pin)
        signature = client.sign(
            Slot.DIGITAL_SIGNATURE, challenge, algorithm=algorithm_of(public_key)
        )
        public_key.verify(signature, challenge, ec.ECDSA(hashes.SHA256()))
        # The PIN verified before that signature does not cover the next one.
        with pytest.raises(SecurityStatusNotSatisfied):
            client.sign(Slot.DIGITAL_SIGNATURE, challenge, algorithm=algorithm_of(public_key))
    # 9A: PIN once per session is enough for several signatures.
    client.verify_pin(pin)
    public_key = certificates["9A"].public_key()
    for _ in range(2):
        challenge = os.urandom(32)
        signature = client.sign(
            Slot.PIV_AUTHENTICATION, challenge, algorithm=algorithm_of(public_key)
        )
        public_key.verify(signature, challenge, ec.ECDSA(hashes.SHA256()))


def test_rsa_profile(approved):
    job = _job(approved("hpc-rsa"))
    assert job_run(job_id=job.pk, worker="test") is Outcome.DONE
    job.refresh_from_db()
    card = job.card
    pin, _ = pin_mailer_secrets(card.pin_mailer)
    client = PivClient.connect(EmulatedTransport(emulated_card_open(card.emulated_card)))
    client.verify_pin(pin)
    certificate = x509.load_der_x509_certificate(
        bytes(Certificate.objects.for_card(card).get(card_slot="9A").der)
    )
    challenge = os.urandom(32)
    signature = client.sign(
        Slot.PIV_AUTHENTICATION, challenge, algorithm=algorithm_of(certificate.public_key())
    )
    certificate.public_key().verify(signature, challenge, padding.PKCS1v15(), hashes.SHA256())


def test_a_second_delivery_does_nothing(approved):
    job = _job(approved())
    assert job_run(job_id=job.pk, worker="w1") is Outcome.DONE
    steps = JobStep.objects.count()
    certificates = Certificate.objects.count()
    assert job_run(job_id=job.pk, worker="w2") is Outcome.NOT_CLAIMED
    assert (JobStep.objects.count(), Certificate.objects.count()) == (steps, certificates)
