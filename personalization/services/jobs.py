"""Queueing, retrying, cancelling and abandoning personalization jobs. A job is created in the
transaction that approves (or queues) its request; its Celery message is sent only after that
commits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from audit.events import EventType
from audit.services import audit_record
from cards.models import Card, CardRequest
from cards.services.cards import card_fail
from config.errors import Conflict, FieldError, NotAllowed, ValidationFailed
from personalization.dispatch import personalization_send
from personalization.job_states import job_cancelled, job_failed, job_resent, job_retried
from personalization.models import EncoderStation, JobBatch, PersonalizationJob
from personalization.station_states import station_free

ABANDON_REASON_MAX_LENGTH = 500


def _send(job: PersonalizationJob) -> None:
    personalization_send(job)


def send_on_commit(job: PersonalizationJob) -> None:
    transaction.on_commit(lambda: _send(job))


def _has_job(card_request: CardRequest) -> bool:
    return PersonalizationJob.objects.filter(
        kind=PersonalizationJob.Kind.PERSONALIZE,
        card_request=card_request,
        status__in=[*PersonalizationJob.Status.active_values(), PersonalizationJob.Status.DONE],
    ).exists()


def _create(
    card_request: CardRequest, station: EncoderStation, *, by, batch=None, just_approved=False
):
    """`just_approved`: the caller approved `card_request` in this transaction, so no job can
    exist for it yet (jobs are made for approved requests only, and approval is made once)."""
    if card_request.status != CardRequest.Status.APPROVED:
        raise Conflict(
            f"request #{card_request.pk} is {card_request.get_status_display().lower()}, "
            "not approved",
            code="not_approved",
        )
    if not just_approved and _has_job(card_request):
        raise Conflict(
            f"request #{card_request.pk} already has a personalization job", code="job_exists"
        )
    try:
        with transaction.atomic():
            job = PersonalizationJob.objects.create(
                card_request=card_request,
                station=station,
                batch=batch,
                created_by=by if getattr(by, "is_authenticated", False) else None,
            )
    except IntegrityError:
        raise Conflict(
            f"request #{card_request.pk} already has a personalization job", code="job_exists"
        ) from None
    audit_record(
        event=EventType.PERSONALIZATION_JOB_QUEUED,
        actor=by,
        obj=job,
        payload={
            "request": card_request.pk,
            "professional": card_request.professional.rpps,
            "station": station.name,
            "batch": batch.pk if batch else None,
        },
    )
    send_on_commit(job)
    return job


def job_create_on_approval(*, card_request: CardRequest, by, batch=None):
    """Called by card_request_approve in its transaction: queue the request on the station that
    takes approved requests, if there is one; otherwise an operator queues it later."""
    station = EncoderStation.objects.filter(takes_approved_requests=True, is_enabled=True).first()
    if station is None:
        return None
    return _create(card_request, station, by=by, batch=batch, just_approved=True)


def unblock_job_create(card_action, by) -> PersonalizationJob:
    """Called by card_action_approve for an approved PIN unblock, in its transaction: the job
    that does it at a station, with the card present. On the card's own station if it is
    enabled (an emulated card lives there), else on the station that takes approved requests;
    with neither, the approval is refused (nothing would do it)."""
    card = card_action.card
    station = (
        EncoderStation.objects.filter(pk=card.station_id, is_enabled=True).first()
        or EncoderStation.objects.filter(takes_approved_requests=True, is_enabled=True).first()
    )
    if station is None:
        msg = "no enabled station can do the unblock: enable the card's station or another one"
        raise Conflict(msg, code="no_station")
    job = PersonalizationJob.objects.create(
        kind=PersonalizationJob.Kind.UNBLOCK,
        card_request_id=card.card_request_id,
        card=card,
        card_action=card_action,
        station=station,
        created_by=by if getattr(by, "is_authenticated", False) else None,
    )
    audit_record(
        event=EventType.PERSONALIZATION_JOB_QUEUED,
        actor=by,
        obj=job,
        payload={"kind": "unblock", "card": card.serial, "station": station.name},
    )
    send_on_commit(job)
    return job


@transaction.atomic
def job_queue(*, card_request: CardRequest, station: EncoderStation, by, batch=None):
    """An operator sends an approved request to a chosen station."""
    if not by.has_perm("personalization.add_personalizationjob"):
        raise NotAllowed("you are not allowed to queue personalization jobs")
    if not station.is_enabled:
        raise ValidationFailed([FieldError("station", f"station {station} is disabled")])
    card_request = CardRequest.objects.select_for_update(no_key=True).get(pk=card_request.pk)
    return _create(card_request, station, by=by, batch=batch)


@transaction.atomic
def jobs_queue_many(
    *, card_requests: Iterable[CardRequest], station: EncoderStation, by, name: str = ""
) -> JobBatch:
    """Queue many approved requests as one batch; all or nothing."""
    requests = list(card_requests)
    if not requests:
        raise ValidationFailed([FieldError("requests", "choose at least one approved request")])
    batch = JobBatch.objects.create(
        name=name or f"{len(requests)} cards on {station} ({timezone.now():%Y-%m-%d %H:%M})",
        created_by=by if getattr(by, "is_authenticated", False) else None,
    )
    for card_request in requests:
        job_queue(card_request=card_request, station=station, by=by, batch=batch)
    return batch


@transaction.atomic
def job_retry(*, job: PersonalizationJob, by) -> PersonalizationJob:
    """A failed job runs again from the start, on a new blank card."""
    if not by.has_perm("personalization.retry_personalizationjob"):
        raise NotAllowed("you are not allowed to retry personalization jobs")
    job = PersonalizationJob.objects.select_for_update(no_key=True).get(pk=job.pk)
    if job.status != PersonalizationJob.Status.FAILED:
        raise Conflict(
            f"only failed jobs can be retried; job #{job.pk} is {job.status}", code="not_failed"
        )
    job_retried(job, now=timezone.now())
    audit_record(
        event=EventType.PERSONALIZATION_JOB_RETRIED,
        actor=by,
        obj=job,
        payload={
            "request": job.card_request_id,
            "attempt": job.attempt,
            "station": job.station.name,
        },
    )
    send_on_commit(job)
    return job


@transaction.atomic
def job_cancel(*, job: PersonalizationJob, by) -> PersonalizationJob:
    """Withdraw a job no worker has started; its request stays approved, ready to queue again."""
    if not by.has_perm("personalization.cancel_personalizationjob"):
        raise NotAllowed("you are not allowed to cancel personalization jobs")
    job = PersonalizationJob.objects.select_for_update(no_key=True).get(pk=job.pk)
    if job.status != PersonalizationJob.Status.WAITING:
        raise Conflict(
            f"only waiting jobs can be cancelled; job #{job.pk} is {job.status}", code="not_waiting"
        )
    if job.card_id is not None:
        # Cancelling would leave its card's certificates valid: it must resume or fail.
        raise Conflict(f"job #{job.pk} has begun a card; it cannot be cancelled", code="started")
    job_cancelled(job, now=timezone.now())
    audit_record(
        event=EventType.PERSONALIZATION_JOB_CANCELLED,
        actor=by,
        obj=job,
        payload={"request": job.card_request_id, "station": job.station.name},
    )
    return job


def _abandon_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(
            [FieldError("reason", "say why the job is abandoned (e.g. its station is gone)")]
        )
    if len(reason) > ABANDON_REASON_MAX_LENGTH:
        raise ValidationFailed(
            [FieldError("reason", f"is longer than {ABANDON_REASON_MAX_LENGTH} characters")]
        )
    return reason


def _check_stalled(job: PersonalizationJob, now: dt.datetime) -> None:
    if job.status == PersonalizationJob.Status.WAITING:
        raise Conflict(
            f"job #{job.pk} is waiting: no worker has begun it; cancel it instead",
            code="not_started",
        )
    if job.status != PersonalizationJob.Status.RUNNING:
        raise Conflict(
            f"only a stalled running job can be abandoned; job #{job.pk} is "
            f"{job.get_status_display().lower()}",
            code="not_running",
        )
    if not job.is_stalled(now=now):
        silent = int((now - job.heartbeat_at).total_seconds())
        raise Conflict(
            f"job #{job.pk}'s worker is still reporting: its last heartbeat was {silent} s ago "
            f"({timezone.localtime(job.heartbeat_at):%Y-%m-%d %H:%M:%S %Z}); a job can be "
            f"abandoned once its worker has been silent for "
            f"{settings.CARDFORGE_JOB_STALE_SECONDS} s",
            code="worker_alive",
        )


@transaction.atomic
def job_abandon(*, job: PersonalizationJob, by, reason: str) -> PersonalizationJob:
    """End a running job whose worker will never come back (station decommissioned, reader
    destroyed, card lost), which `job_cancel` rightly refuses once a card is begun.

    Only a stalled job: running, its heartbeat older than CARDFORGE_JOB_STALE_SECONDS, so no
    live worker holds it (checked again with the row locked: a worker that resumes it first
    wins). The job fails with error code "abandoned" and the operator's reason; its half-made
    card fails and every certificate issued for it is revoked (cessationOfOperation), as when a
    job fails on its own; its station is freed. The request stays approved, so `job_retry`
    makes a new card on a new blank card. A worker that comes back later finds the job failed
    and its lease gone: its next lease check (LeaseLost) stops it before it writes anything.
    """
    if not by.has_perm("personalization.abandon_personalizationjob"):
        raise NotAllowed("you are not allowed to abandon personalization jobs")
    reason = _abandon_reason(reason)
    job = PersonalizationJob.objects.select_for_update(no_key=True).get(pk=job.pk)
    now = timezone.now()
    _check_stalled(job, now)
    worker, heartbeat_at = job.lease_owner, job.heartbeat_at

    card = (
        Card.objects.select_for_update(no_key=True).filter(pk=job.card_id).first()
        if job.card_id
        else None
    )
    ended = card_fail(card=card, by=by, comment=f"personalization job #{job.pk} abandoned")

    job_failed(job, code="abandoned", message=reason, now=now)
    station_freed = station_free(job)
    audit_record(
        event=EventType.PERSONALIZATION_JOB_ABANDONED,
        actor=by,
        obj=job,
        payload={
            "request": job.card_request_id,
            "station": job.station.name,
            "station_freed": station_freed,
            "attempt": job.attempt,
            "step": job.current_step,
            "worker": worker,
            "last_heartbeat": heartbeat_at.isoformat() if heartbeat_at else None,
            "card": card.serial if card else None,
            "revoked": ended.revoked,
            "pin_mailer_destroyed": ended.pin_mailer_destroyed,
            "reason": reason,
        },
    )
    return job


def jobs_requeue_stale() -> list[int]:
    """Send again the jobs whose worker died (stale heartbeat) or whose message seems lost.
    Harmless when the original message is still coming: the first to claim the job runs it.

    A job is sent once when found stale, then every CARDFORGE_JOB_RESEND_SECONDS while nobody
    takes it (its station's worker is down): not at every beat, which would pile up copies.
    `queued_at` records the last sending. A waiting job whose station is disabled is not sent
    (a running one is: it finishes on its station even if disabled meanwhile).
    """
    now = timezone.now()
    stale = now - dt.timedelta(seconds=settings.CARDFORGE_JOB_STALE_SECONDS)
    lost = now - dt.timedelta(seconds=settings.CARDFORGE_JOB_RESEND_SECONDS)
    running = PersonalizationJob.objects.filter(
        Q(queued_at__lte=F("heartbeat_at")) | Q(queued_at__lt=lost),
        status=PersonalizationJob.Status.RUNNING,
        heartbeat_at__lt=stale,
    )
    # A waiting job on a disabled station stays put: its worker would give it back untouched;
    # enabling the station sends it (station_update).
    waiting = PersonalizationJob.objects.filter(
        status=PersonalizationJob.Status.WAITING, queued_at__lt=lost, station__is_enabled=True
    )
    resent = []
    for job in (running | waiting).select_related("station"):
        job_resent(job, now=now)
        _send(job)
        resent.append(job.pk)
    return resent
