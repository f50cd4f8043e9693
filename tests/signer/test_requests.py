"""Who the signer answers (docs/signer.md): only a registered station, for its own job, waiting
for the signer, recently. Each attack leaves no certificate, no delivery, and an audited
refusal; the job stays where it was."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from django.utils import timezone

from audit.events import EventType
from audit.models import AuditEvent
from personalization.models import EncoderStation, JobDelivery, JobStep, PersonalizationJob
from personalization.runner import engine
from personalization.runner.engine import Outcome, job_run
from personalization.runner.plan import SIGNER_STEP
from personalization.services.stations import station_create
from personalization.station_identity import station_certificate, station_key, station_key_path
from pki.envelopes import canonical_json, request_sign
from pki.models import Certificate
from pki.reasons import RevocationReason
from pki.services.revocation import certificate_revoke
from signer import requests as signer_requests
from signer.stations import station_enrol_here
from signer.tasks import sign_job
from tests.cardedge.certificates import ThrowawayCa

pytestmark = pytest.mark.django_db


@pytest.fixture
def waiting(approved, monkeypatch, django_capture_on_commit_callbacks):
    """A job its enrolled station (bench-1) ran up to the signer's step and handed over: the
    genuine signed request it sent, and the job."""
    request = approved()
    job = PersonalizationJob.objects.get(card_request=request)
    station_enrol_here(job.station)
    sent: list[str] = []
    monkeypatch.setattr(engine, "signer_request_send", sent.append)
    monkeypatch.setattr(signer_requests, "personalization_send", lambda job: None)
    with django_capture_on_commit_callbacks(execute=True):
        assert job_run(job_id=job.pk, worker="w", stations=["bench-1"]) is Outcome.AT_SIGNER
    job.refresh_from_db()
    assert (job.status, job.current_step, job.lease_owner) == ("running", SIGNER_STEP, "")
    return sent[0], job


def _nothing_made(job: PersonalizationJob) -> None:
    assert not Certificate.objects.for_card(job.card).exists()
    assert not JobDelivery.objects.filter(job=job).exists()
    assert not JobStep.objects.filter(job=job, name=SIGNER_STEP).exists()
    job.refresh_from_db()
    assert (job.status, job.current_step) == ("running", SIGNER_STEP)


def _refusals() -> list[str]:
    return [
        event.payload["reason"]
        for event in AuditEvent.objects.filter(event=EventType.SIGNER_REQUEST_REFUSED)
    ]


def test_the_genuine_request_is_answered(waiting):
    envelope, job = waiting
    assert sign_job.run(envelope) == "signed"
    assert Certificate.objects.for_card(job.card).valid().count() == 4
    assert JobDelivery.objects.filter(job=job).count() == 1
    # Delivered twice (Celery redelivers), nothing is made twice.
    assert sign_job.run(envelope) == "already signed"
    assert Certificate.objects.for_card(job.card).count() == 4


def test_a_forged_request_not_signed_by_a_registered_station_gets_nothing(waiting):
    _, job = waiting
    # A key and a certificate naming the station, from a CA that is not CardForge's: what
    # someone with broker access but no CardForge CA can make.
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = ThrowawayCa.create("Not CardForge").issue(key.public_key(), "bench-1")
    forged = request_sign(
        {"job": job.pk, "attempt": job.attempt, "lease": ""}, key=key, certificate=certificate
    )
    assert sign_job.run(forged) == "refused"
    _nothing_made(job)
    assert len(_refusals()) == 1


def test_an_unsigned_or_tampered_request_gets_nothing(waiting):
    envelope, job = waiting
    assert sign_job.run(json.dumps({"job": job.pk, "attempt": 1, "lease": ""})) == "refused"
    # The genuine request with its body changed (another lease): the signature no longer holds.
    data = json.loads(envelope)
    body = json.loads(base64.b64decode(data["body"]))
    body["lease"] = "w"
    data["body"] = base64.b64encode(canonical_json(body)).decode()
    assert sign_job.run(json.dumps(data)) == "refused"
    _nothing_made(job)
    assert len(_refusals()) == 2


def test_a_registered_station_asking_for_another_stations_job_gets_nothing(waiting):
    _, job = waiting
    other = station_create(name="bench-2", transport="emulated")
    station_enrol_here(other)
    other.refresh_from_db()
    request = request_sign(
        {"job": job.pk, "attempt": job.attempt, "lease": ""},
        key=station_key(other),
        certificate=station_certificate(other),
    )
    assert sign_job.run(request) == "refused"
    _nothing_made(job)
    assert "belongs to station bench-1, not bench-2" in _refusals()[0]


def test_a_station_whose_certificate_is_revoked_gets_nothing(waiting):
    envelope, job = waiting
    station = EncoderStation.objects.get(pk=job.station_id)
    certificate_revoke(
        certificate=station.certificate, reason=RevocationReason.KEY_COMPROMISE, emergency=True
    )
    assert sign_job.run(envelope) == "refused"
    _nothing_made(job)


def test_an_old_request_replayed_later_gets_nothing(waiting, settings):
    _, job = waiting
    station = EncoderStation.objects.get(pk=job.station_id)
    old = request_sign(
        {"job": job.pk, "attempt": job.attempt, "lease": ""},
        key=station_key(station),
        certificate=station_certificate(station),
        now=timezone.now()
        - dt.timedelta(seconds=settings.CARDFORGE_SIGNER_REQUEST_MAX_AGE_SECONDS + 5),
    )
    assert sign_job.run(old) == "refused"
    _nothing_made(job)


def test_a_request_for_a_job_held_by_a_worker_gets_nothing(waiting):
    """The station took the job back (a worker holds its lease): the signer does not act under
    a running worker's feet."""
    envelope, job = waiting
    PersonalizationJob.objects.filter(pk=job.pk).update(lease_owner="another-worker")
    assert sign_job.run(envelope) == "refused"
    assert not Certificate.objects.for_card(job.card).exists()


def test_a_slot_already_certified_is_not_certified_again(waiting):
    """Whatever wrote it, a certificate for one of the card's slots stops the signer: the job
    fails and nothing more is issued."""
    envelope, job = waiting
    from pki.services.certificates import CertificateRequest, certificates_issue

    public_key = ec.generate_private_key(ec.SECP256R1()).public_key()
    certificates_issue(
        requests=[
            CertificateRequest(public_key=public_key, profile="hp-authentication", slot="9A")
        ],
        professional=job.card.professional,
        card=job.card,
    )
    assert sign_job.run(envelope) == "failed"
    job.refresh_from_db()
    assert (job.status, job.error_code) == ("failed", "Conflict")
    assert "already has certificates for slots 9A" in job.error_message
    assert Certificate.objects.for_card(job.card).count() == 1
    assert not JobDelivery.objects.filter(job=job).exists()


def test_a_station_enrolled_again_is_not_answered_for_its_former_key(waiting):
    """A station's host replaced (or its key thought stolen) is enrolled again with a new key:
    whoever kept the former key and its certificate gets nothing, and that certificate is
    revoked (superseded), so the platform no longer vouches for it."""
    _, job = waiting
    station = EncoderStation.objects.get(pk=job.station_id)
    former_certificate = station.certificate
    former_key = station_key(station)
    former = request_sign(
        {"job": job.pk, "attempt": job.attempt, "lease": ""},
        key=former_key,
        certificate=station_certificate(station),
    )
    # The new host makes its own key; the former key is what an attacker kept.
    station_key_path(station.name).unlink()
    station_enrol_here(station)
    station.refresh_from_db()
    assert station.certificate_id != former_certificate.pk

    assert sign_job.run(former) == "refused"
    _nothing_made(job)
    former_certificate.refresh_from_db()
    assert (former_certificate.status, former_certificate.revocation_reason) == (
        Certificate.Status.REVOKED,
        RevocationReason.SUPERSEDED,
    )
    # The station's new key is answered.
    renewed = request_sign(
        {"job": job.pk, "attempt": job.attempt, "lease": ""},
        key=station_key(station),
        certificate=station_certificate(station),
    )
    assert sign_job.run(renewed) == "signed"
