"""A station's request to the signer: checked, then the card's making (making.py) recorded as
the job's signer step, in one transaction on the job's locked row (docs/signer.md).

A request names the job, its attempt, the station and the lease the job is under: "" when the
station handed the job over (a worker's message), the station worker's own lease when station
and signer run in one process (eager execution: tests, the benchmark). Anything else than a job
running on that station, at this attempt, with the signer's step next and that lease, is
refused and audited; nothing is made.
"""

from __future__ import annotations

import datetime as dt
import logging
from enum import Enum

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.events import EventType
from audit.services import audit_record
from config.errors import DomainError
from config.statements import insert_one
from personalization.dispatch import SignerAnswer, personalization_send
from personalization.models import EncoderStation, JobStep, PersonalizationJob
from personalization.runner.approval import job_approved
from personalization.runner.engine import job_fail
from personalization.runner.plan import signer_step_of
from personalization.station_identity import station_key_path
from pki.envelopes import EnvelopeError, request_verify
from pki.selectors import station_ca_certificates
from signer.making import (
    Making,
    making_prepare,
    making_record,
    unblocking_prepare,
    unblocking_record,
)
from signer.stations import station_enrol_here

logger = logging.getLogger(__name__)


class SignerOutcome(Enum):
    SIGNED = "signed"
    ALREADY_SIGNED = "already signed"  # a request delivered twice: only the job is sent back
    REFUSED = "refused"  # not a request this signer may answer (audited)
    FAILED = "failed"  # the job failed here (approval withdrawn, a key refused)


class RequestRefused(Exception):
    pass


def _job(job_id: int) -> PersonalizationJob:
    return PersonalizationJob.objects.select_related(
        "station__certificate",
        "card__professional__organisation",
        "card_request__profile_version",
        "card_request__professional__organisation",
        "card_request__card_profile",
    ).get(pk=job_id)


def _check(job: PersonalizationJob, request: dict) -> None:
    """RequestRefused unless `request` is this job's, now."""
    if job.station.name != request["station"]:
        msg = f"job {job.pk} belongs to station {job.station.name}, not {request['station']}"
        raise RequestRefused(msg)
    if job.status != PersonalizationJob.Status.RUNNING or job.attempt != request["attempt"]:
        msg = f"job {job.pk} is {job.status} at attempt {job.attempt}"
        raise RequestRefused(msg)
    if job.current_step != signer_step_of(job) or job.lease_owner != request["lease"]:
        msg = f"job {job.pk} is not waiting for the signer (at step {job.current_step or '-'})"
        raise RequestRefused(msg)
    if job.card_id is None:
        msg = f"job {job.pk} has no card"
        raise RequestRefused(msg)
    signed_by = request.get("certificate_sha256")
    if signed_by is not None and (
        job.station.certificate is None or job.station.certificate.fingerprint_sha256 != signed_by
    ):
        # Valid but not the station's current certificate: a key the station was enrolled with
        # before (its certificate is revoked at re-enrolment; this holds even before the CRL).
        msg = f"station {job.station.name} is no longer enrolled with the key that signed"
        raise RequestRefused(msg)


def _refused(request: dict, reason: str) -> SignerOutcome:
    logger.warning("signer request refused: %s", reason)
    with transaction.atomic():
        audit_record(
            event=EventType.SIGNER_REQUEST_REFUSED,
            object_type="personalization.personalizationjob",
            object_id=str(request.get("job", "")),
            payload={"station": str(request.get("station", ""))[:200], "reason": reason[:500]},
        )
    return SignerOutcome.REFUSED


def _journal(job: PersonalizationJob) -> dict[str, dict]:
    return {step.name: step.detail for step in JobStep.objects.filter(job=job, attempt=job.attempt)}


def signer_request_here(request: dict, *, job=None, journal: dict | None = None) -> SignerAnswer:
    """A request from a station run in this very process (registered in SignerConfig.ready():
    tests, eager execution, the benchmark). Nothing crossed a broker, so nothing is signed;
    a station that has no certificate yet is enrolled here, its key made on this host."""
    station = (
        job.station
        if job is not None
        else EncoderStation.objects.filter(name=request["station"]).first()
    )
    if station is not None and (
        station.certificate_id is None or not station_key_path(station.name).exists()
    ):
        station_enrol_here(station)
        station.refresh_from_db()  # enrolled now (the caller's copy, when it passed the job)
    return signer_request_handle(request, resume=False, job=job, journal=journal)


def signer_envelope_handle(envelope: str) -> SignerOutcome:
    """A station's signed request from the broker (pki/envelopes.py): answered only when signed
    by a registered station's valid certificate, recently, for its own job."""
    try:
        verified = request_verify(
            envelope,
            trusted_issuers=station_ca_certificates(),
            now=timezone.now(),
            max_age=dt.timedelta(seconds=settings.CARDFORGE_SIGNER_REQUEST_MAX_AGE_SECONDS),
        )
    except EnvelopeError as refused:
        return _refused({}, f"{refused.code}: {refused}")
    payload = verified.payload
    request = {
        "job": payload.get("job"),
        "attempt": payload.get("attempt"),
        "lease": payload.get("lease"),
        "station": verified.station,
        "certificate_sha256": verified.certificate_sha256,
    }
    if not isinstance(request["job"], int) or not isinstance(request["attempt"], int):
        return _refused(request, "the request names no job and attempt")
    if not PersonalizationJob.objects.filter(pk=request["job"]).exists():
        return _refused(request, f"no job {request['job']}")
    return SignerOutcome(signer_request_handle(request, resume=True).outcome)


def signer_request_handle(
    request: dict, *, resume: bool, job=None, journal: dict | None = None
) -> SignerAnswer:
    """Answer a station's request; `resume`: send the job back to its station afterwards (a
    worker's message; in one process the station's run goes on by itself, and passes the `job`
    and `journal` it loaded). Whatever was passed, the job is checked again on its locked row
    before anything is recorded."""
    from_message = job is None or journal is None
    if from_message:
        job = _job(request["job"])
        journal = _journal(job)
    step = signer_step_of(job)
    if step in journal:
        if resume:
            personalization_send(job)
        return SignerAnswer(SignerOutcome.ALREADY_SIGNED.value)
    if from_message:  # a message is checked before anything is made for it
        try:
            _check(job, request)
        except RequestRefused as refused:
            return SignerAnswer(_refused(request, str(refused)).value)
    try:
        # Approved under four eyes, for the identity snapshot, as the database says now.
        identity = job_approved(job)
        if job.kind == PersonalizationJob.Kind.UNBLOCK:
            made, record = unblocking_prepare(job), unblocking_record
        else:
            made, record = making_prepare(job, journal, identity), making_record
        with transaction.atomic():
            locked = (
                PersonalizationJob.objects.select_for_update(no_key=True, of=("self",))
                .select_related("station__certificate")
                .get(pk=job.pk)
            )
            _check(locked, request)  # nothing changed while the card's making was prepared
            now = timezone.now()
            detail = record(job, made)
            insert_one(
                JobStep,
                {
                    "job_id": job.pk,
                    "attempt": job.attempt,
                    "name": step,
                    "detail": detail,
                    "apdus": 0,
                    "started_at": now,
                    "finished_at": now,
                },
            )
            if resume:
                transaction.on_commit(lambda: personalization_send(job))
    except RequestRefused as refused:
        return SignerAnswer(_refused(request, str(refused)).value)
    except DomainError as error:
        job_fail(job, request["lease"], type(error).__name__, error.message)
        return SignerAnswer(SignerOutcome.FAILED.value)
    certificates = made.signed_der() if isinstance(made, Making) else None
    return SignerAnswer(SignerOutcome.SIGNED.value, detail, certificates)
