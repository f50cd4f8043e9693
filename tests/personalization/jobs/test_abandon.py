"""Abandoning a stalled job (`job_abandon`): a job that has begun a card and whose worker never
comes back (station decommissioned, reader destroyed, card lost) is ended by an operator. Its
card fails, the card's certificates are revoked (and show so in the CRL and OCSP), its station
is freed, the request can be retried; a worker that comes back later changes nothing. Every
refusal changes nothing."""

from __future__ import annotations

import json
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from django.db import connection, transaction
from django.test import Client

from accounts.roles import Role
from audit.events import EventType
from audit.models import AuditEvent
from audit.selectors import audit_chain_verify
from cards.models import Card, CardRequest
from cards.services.secrets import pin_mailer_secrets
from config.errors import Conflict, NotAllowed, ValidationFailed
from personalization.job_states import job_claim
from personalization.models import EncoderStation, JobStep, PersonalizationJob
from personalization.runner.engine import Outcome, job_run
from personalization.services.jobs import (
    job_abandon,
    job_cancel,
    job_queue,
    job_retry,
    jobs_requeue_stale,
)
from personalization.services.stations import station_create
from pki.models import Certificate, CertificateRevocationList
from pki.reasons import RevocationReason
from pki.services.crl import crl_generate
from tests.factories import make_user
from tests.personalization.jobs.conftest import age_heartbeat, killed_mid_job

REASON = "station desk-3 decommissioned; its reader was destroyed"


def _job(request) -> PersonalizationJob:
    return PersonalizationJob.objects.get(card_request=request)


def _state(job: PersonalizationJob) -> dict:
    """Everything an abandon (or a returning worker) could change."""
    job = PersonalizationJob.objects.get(pk=job.pk)
    card = job.card
    return {
        "job": (
            job.status,
            job.error_code,
            job.error_message,
            job.lease_owner,
            job.heartbeat_at,
            job.finished_at,
            job.current_step,
            job.attempt,
            job.card_id,
        ),
        "card": card.status if card else None,
        "certificates": (
            sorted(Certificate.objects.for_card(card).values_list("serial", "status"))
            if card
            else []
        ),
        "station": EncoderStation.objects.get(pk=job.station_id).busy_job_id,
        "request": CardRequest.objects.get(pk=job.card_request_id).status,
        "steps": JobStep.objects.filter(job=job).count(),
        "events": AuditEvent.objects.count(),
    }


@pytest.mark.django_db
def test_abandoning_a_stalled_job_fails_its_card_revokes_its_certificates_and_frees_its_station(
    stalled, users, station
):
    job = stalled()
    card = job.card
    station.refresh_from_db()
    assert station.busy_job_id == job.pk
    serials = sorted(Certificate.objects.for_card(card).values_list("serial", flat=True))
    pin, puk = pin_mailer_secrets(card.pin_mailer)

    returned = job_abandon(job=job, by=users[Role.ENCODING_OPERATOR], reason=f"  {REASON}\n")

    job.refresh_from_db()
    assert returned.pk == job.pk
    assert (job.status, job.error_code, job.error_message) == ("failed", "abandoned", REASON)
    assert job.lease_owner == ""
    assert job.finished_at is not None
    assert job.current_step == "write_objects"  # where it stopped, as a failed job shows
    card.refresh_from_db()
    assert card.status == Card.Status.FAILED
    certificates = Certificate.objects.for_card(card)
    assert set(certificates.values_list("status", flat=True)) == {"revoked"}
    assert set(certificates.values_list("revocation_reason", flat=True)) == {
        RevocationReason.CESSATION_OF_OPERATION
    }
    station.refresh_from_db()
    assert station.busy_job_id is None
    assert job.card_request.status == CardRequest.Status.APPROVED

    event = AuditEvent.objects.get(event=EventType.PERSONALIZATION_JOB_ABANDONED)
    assert (event.actor, event.object_id) == ("encoding-operator", str(job.pk))
    payload = event.payload
    assert payload["request"] == job.card_request_id
    assert payload["station"] == "bench-1"
    assert payload["station_freed"] is True
    assert payload["attempt"] == 1
    assert payload["step"] == "write_objects"
    assert payload["worker"] == "dead-worker"
    assert payload["card"] == card.serial
    assert sorted(payload["revoked"]) == serials
    assert payload["pin_mailer_destroyed"] is True
    card.pin_mailer.refresh_from_db()
    assert card.pin_mailer.sealed is None
    assert payload["reason"] == REASON
    text = json.dumps(payload)
    for secret in (pin.reveal().decode(), puk.reveal().decode()):
        assert secret not in text
    # Each revocation is audited too, by the operator who abandoned the job.
    revocations = AuditEvent.objects.filter(
        event=EventType.CERTIFICATE_REVOKED, sequence__lt=event.sequence
    )
    assert sorted(e.payload["serial"] for e in revocations) == serials
    assert {e.actor for e in revocations} == {"encoding-operator"}
    assert audit_chain_verify().intact


def _ocsp_status(client: Client, certificate: Certificate) -> ocsp.OCSPResponse:
    issuer = x509.load_der_x509_certificate(bytes(certificate.ca.certificate_der))
    request = (
        ocsp.OCSPRequestBuilder()
        .add_certificate(
            x509.load_der_x509_certificate(bytes(certificate.der)), issuer, hashes.SHA1()
        )
        .build()
        .public_bytes(serialization.Encoding.DER)
    )
    response = client.post(
        f"/pki/ocsp/{certificate.ca.slug}/", data=request, content_type="application/ocsp-request"
    )
    assert response.status_code == 200
    return ocsp.load_der_ocsp_response(response.content)


@pytest.mark.django_db
def test_relying_parties_see_the_revocations_in_the_crl_and_ocsp(stalled, users):
    job = stalled()
    certificates = list(Certificate.objects.for_card(job.card).select_related("ca"))
    client = Client()
    assert {_ocsp_status(client, c).certificate_status for c in certificates} == {
        ocsp.OCSPCertStatus.GOOD
    }

    job_abandon(job=job, by=users[Role.ADMINISTRATOR], reason=REASON)

    for certificate in certificates:
        answer = _ocsp_status(client, certificate)
        assert answer.certificate_status == ocsp.OCSPCertStatus.REVOKED
        assert answer.revocation_reason == x509.ReasonFlags.cessation_of_operation
    # The CRL regenerated after the revocation (on commit, by a task) lists them.
    for ca in {c.ca for c in certificates}:
        crl_generate(ca=ca)
        crl = x509.load_der_x509_crl(bytes(CertificateRevocationList.objects.get(ca=ca).der))
        for certificate in (c for c in certificates if c.ca == ca):
            entry = crl.get_revoked_certificate_by_serial_number(certificate.serial_number)
            assert entry is not None
            reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
            assert reason == x509.ReasonFlags.cessation_of_operation


@pytest.mark.django_db
def test_a_job_whose_worker_died_before_it_began_a_card_is_abandoned_too(approved, station, users):
    job = _job(approved())
    # Claimed, station taken, then the worker died before the card row was saved.
    PersonalizationJob.objects.filter(pk=job.pk).update(
        status="running", lease_owner="dead-worker", current_step="identify_card"
    )
    EncoderStation.objects.filter(pk=station.pk).update(busy_job=job)
    age_heartbeat(job)

    job_abandon(job=job, by=users[Role.ENCODING_OPERATOR], reason=REASON)

    job.refresh_from_db()
    assert (job.status, job.error_code, job.card_id) == ("failed", "abandoned", None)
    station.refresh_from_db()
    assert station.busy_job_id is None
    event = AuditEvent.objects.get(event=EventType.PERSONALIZATION_JOB_ABANDONED)
    assert (event.payload["card"], event.payload["revoked"]) == (None, [])


@pytest.mark.django_db
def test_the_station_of_another_job_is_left_alone(stalled, users, station):
    job = stalled()
    # The station was somehow handed to another job (or freed) meanwhile: not this job's to free.
    EncoderStation.objects.filter(pk=station.pk).update(busy_job=None)
    job_abandon(job=job, by=users[Role.ENCODING_OPERATOR], reason=REASON)
    event = AuditEvent.objects.get(event=EventType.PERSONALIZATION_JOB_ABANDONED)
    assert event.payload["station_freed"] is False


# -- refusals: each leaves everything as it was ------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "role",
    [Role.AUDITOR, Role.ENROLMENT_OFFICER, Role.APPROVING_OFFICER, None],
    ids=lambda role: role.slug if role else "no-role",
)
def test_only_encoding_operators_and_administrators_may_abandon(stalled, role):
    job = stalled()
    before = _state(job)
    with pytest.raises(NotAllowed, match="not allowed to abandon"):
        job_abandon(job=job, by=make_user(role), reason=REASON)
    assert _state(job) == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("reason", "message"),
    [
        ("", "say why"),
        ("   \n\t", "say why"),
        ("x" * 501, "longer than 500 characters"),
    ],
    ids=["empty", "blank", "too-long"],
)
def test_a_reason_is_required(stalled, users, reason, message):
    job = stalled()
    before = _state(job)
    with pytest.raises(ValidationFailed, match=message) as caught:
        job_abandon(job=job, by=users[Role.ENCODING_OPERATOR], reason=reason)
    assert [e.field for e in caught.value.errors] == ["reason"]
    assert _state(job) == before


@pytest.mark.django_db
def test_a_reason_of_500_characters_is_enough(stalled, users):
    job = job_abandon(job=stalled(), by=users[Role.ENCODING_OPERATOR], reason="x" * 500)
    assert job.error_message == "x" * 500


@pytest.mark.django_db
def test_a_job_whose_worker_still_reports_is_refused(approved, users, settings):
    settings.CARDFORGE_JOB_STALE_SECONDS = 60
    job = killed_mid_job(approved())
    age_heartbeat(job, seconds=50)
    before = _state(job)
    with pytest.raises(Conflict) as caught:
        job_abandon(job=job, by=users[Role.ENCODING_OPERATOR], reason=REASON)
    assert caught.value.code == "worker_alive"
    assert "worker is still reporting: its last heartbeat was 50 s ago" in caught.value.message
    assert "silent for 60 s" in caught.value.message
    assert _state(job) == before

    # Silent for longer than CARDFORGE_JOB_STALE_SECONDS: stalled.
    age_heartbeat(job, seconds=61)
    assert job_abandon(job=job, by=users[Role.ENCODING_OPERATOR], reason=REASON).status == "failed"


@pytest.mark.django_db
def test_a_waiting_job_is_refused_with_a_pointer_to_cancel(approved, users):
    job = _job(approved())
    before = _state(job)
    with pytest.raises(Conflict, match="cancel it instead") as caught:
        job_abandon(job=job, by=users[Role.ENCODING_OPERATOR], reason=REASON)
    assert caught.value.code == "not_started"
    assert _state(job) == before


@pytest.mark.django_db
@pytest.mark.parametrize("end", ["done", "failed", "cancelled", "abandoned"])
def test_a_finished_job_is_refused(approved, stalled, users, end):
    operator = users[Role.ENCODING_OPERATOR]
    if end == "done":
        job = _job(approved())
        assert job_run(job_id=job.pk, worker="w") is Outcome.DONE
    elif end == "failed":
        job = _job(approved())
        PersonalizationJob.objects.filter(pk=job.pk).update(status="failed", error_code="X")
    elif end == "cancelled":
        job = job_cancel(job=_job(approved()), by=operator)
    else:
        job = job_abandon(job=stalled(), by=operator, reason=REASON)
    before = _state(job)
    with pytest.raises(Conflict, match="only a stalled running job can be abandoned") as caught:
        job_abandon(job=job, by=operator, reason=REASON)
    assert caught.value.code == "not_running"
    assert _state(job) == before


# -- afterwards --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_worker_that_comes_back_after_the_abandon_changes_nothing(
    stalled, users, celery_messages
):
    job = stalled()
    job_abandon(job=job, by=users[Role.ENCODING_OPERATOR], reason=REASON)
    after = _state(job)

    # The dead worker's message redelivered to it, or to another worker of the station.
    assert job_run(job_id=job.pk, worker="dead-worker") is Outcome.NOT_CLAIMED
    assert job_run(job_id=job.pk, worker="another-worker") is Outcome.NOT_CLAIMED
    # And nobody sends it again.
    assert jobs_requeue_stale() == []
    assert job.pk not in celery_messages

    assert _state(job) == after
    assert not Certificate.objects.for_card(job.card).valid().exists()
    assert Card.objects.get(pk=job.card_id).status == Card.Status.FAILED


@pytest.mark.django_db
def test_a_hung_worker_that_wakes_up_after_the_abandon_stops_without_writing(
    approved, users, station, cue
):
    job = _job(approved())
    seen = {}

    def hung_then_abandoned() -> None:
        # The worker hangs on the card; meanwhile an operator gives up on the job.
        age_heartbeat(job)
        job_abandon(job=job, by=users[Role.ENCODING_OPERATOR], reason=REASON)
        seen["state"] = _state(job)

    cue("write_objects", hung_then_abandoned)
    # The card answers at last and the worker carries on: its next lease check stops it.
    assert job_run(job_id=job.pk, worker="hung-worker") is Outcome.LEASE_LOST

    assert _state(job) == seen["state"]
    job.refresh_from_db()
    assert (job.status, job.error_code) == ("failed", "abandoned")
    assert not JobStep.objects.filter(job=job, name="write_objects").exists()
    assert Card.objects.get(pk=job.card_id).status == Card.Status.FAILED
    assert set(Certificate.objects.for_card(job.card).values_list("status", flat=True)) == {
        "revoked"
    }
    station.refresh_from_db()
    assert station.busy_job_id is None


@pytest.mark.django_db
def test_retrying_an_abandoned_job_makes_one_personalized_card(stalled, users):
    job = stalled()
    abandoned_card = job.card
    operator = users[Role.ENCODING_OPERATOR]
    job_abandon(job=job, by=operator, reason=REASON)

    job = job_retry(job=job, by=operator)
    assert (job.status, job.attempt, job.card) == ("waiting", 2, None)
    assert job_run(job_id=job.pk, worker="replacement-worker") is Outcome.DONE

    job.refresh_from_db()
    assert job.status == "done"
    cards = Card.objects.filter(card_request=job.card_request)
    assert cards.count() == 2
    good = cards.get(status=Card.Status.PERSONALIZED)
    assert good == job.card != abandoned_card
    assert sorted(
        Certificate.objects.for_card(good).valid().values_list("card_slot", flat=True)
    ) == ["9A", "9C", "9D", "9E"]
    abandoned_card.refresh_from_db()
    assert abandoned_card.status == Card.Status.FAILED
    assert not Certificate.objects.for_card(abandoned_card).valid().exists()
    job.card_request.refresh_from_db()
    assert job.card_request.status == CardRequest.Status.COMPLETED
    events = list(
        AuditEvent.objects.for_object(job).values_list("event", flat=True).order_by("sequence")
    )
    abandoned = events.index(EventType.PERSONALIZATION_JOB_ABANDONED)
    assert events[abandoned + 1 :] == [
        EventType.PERSONALIZATION_JOB_RETRIED,
        EventType.PERSONALIZATION_JOB_STARTED,
    ]
    assert audit_chain_verify().intact


@pytest.mark.django_db
def test_the_request_can_go_to_another_station_instead(stalled, users):
    job = stalled()
    operator = users[Role.ENCODING_OPERATOR]
    job_abandon(job=job, by=operator, reason=REASON)
    elsewhere = station_create(name="bench-2", transport="emulated", by=users[Role.ADMINISTRATOR])

    new_job = job_queue(card_request=job.card_request, station=elsewhere, by=operator)
    assert job_run(job_id=new_job.pk, worker="bench-2-worker") is Outcome.DONE
    new_job.refresh_from_db()
    assert new_job.card.status == Card.Status.PERSONALIZED
    assert new_job.card.station == elsewhere
    assert Card.objects.filter(card_request=job.card_request).count() == 2


# -- racing a worker that resumes the job (row locks: PostgreSQL) -------------------------------


def _race(first, second) -> None:
    """Run `first` in a transaction that holds its locks half a second, and `second` meanwhile
    in another connection: it waits for `first` to commit, then decides."""
    holds_its_lock = threading.Event()

    def run_first() -> None:
        try:
            with transaction.atomic():
                first()
                holds_its_lock.set()
                threading.Event().wait(0.5)
        finally:
            holds_its_lock.set()
            connection.close()

    def run_second() -> None:
        holds_its_lock.wait(10)
        try:
            second()
        finally:
            connection.close()

    threads = [threading.Thread(target=run_first), threading.Thread(target=run_second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)


@pytest.fixture
def no_crl_messages(monkeypatch):
    """Committed revocations would queue CRL regeneration on the broker: keep them here."""
    monkeypatch.setattr("pki.tasks.queue_crl_regeneration", lambda **kwargs: None)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_worker_resuming_the_job_first_wins_over_the_abandon(
    stalled, users, celery_messages, no_crl_messages
):
    job = stalled()
    outcome = {}

    def resume() -> None:
        outcome["claimed"] = job_claim(job.pk, "resumes")

    def abandon() -> None:
        try:
            job_abandon(job=job, by=users[Role.ENCODING_OPERATOR], reason=REASON)
        except Conflict as error:
            outcome["abandon"] = error.code

    _race(resume, abandon)
    assert outcome == {"claimed": True, "abandon": "worker_alive"}
    job.refresh_from_db()
    assert (job.status, job.lease_owner) == ("running", "resumes")
    assert Certificate.objects.for_card(job.card).valid().count() == 4


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_abandon_first_wins_over_a_worker_resuming_the_job(
    stalled, users, celery_messages, no_crl_messages
):
    job = stalled()
    outcome = {}

    def abandon() -> None:
        job_abandon(job=job, by=users[Role.ENCODING_OPERATOR], reason=REASON)

    def resume() -> None:
        outcome["claimed"] = job_claim(job.pk, "resumes")

    _race(abandon, resume)
    assert outcome == {"claimed": False}
    job.refresh_from_db()
    assert (job.status, job.error_code, job.lease_owner) == ("failed", "abandoned", "")
    assert not Certificate.objects.for_card(job.card).valid().exists()
