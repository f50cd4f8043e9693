"""Running a personalization job: claim it, replay its journal, run the missing steps, finish
or fail cleanly.

Crash safety (shared/DESIGN.md): a worker holds the job by a lease (`lease_owner`, refreshed
`heartbeat_at`). Every step's record is written only when the step is done, and only while the
lease is still this worker's. A worker that dies mid-step leaves a stale heartbeat; the next
delivery of the job (redelivery, or `requeue_stale_jobs`) takes the lease over and resumes from
the first step not recorded, which is idempotent. A message delivered twice finds the job
leased or finished and does nothing. A job that fails revokes the certificates issued for its
card: no certificate stays valid for a card that did not complete.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Collection
from enum import Enum

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audit.events import EventType
from audit.services import audit_record
from cardedge.apdu.errors import CardError
from cards.models import Card
from cards.services.card_requests import card_request_complete
from cards.services.cards import card_fail, card_pin_mailer_destroy
from config.errors import Conflict, DomainError
from config.sealing import SealError
from config.statements import insert_one, pks_where, update_where
from personalization.models import EncoderStation, JobStep, PersonalizationJob
from personalization.runner.approval import approved_identity
from personalization.runner.heartbeat import StepHeartbeat
from personalization.runner.plan import FINISH_STEP, step_names
from personalization.runner.session import CardSession
from personalization.runner.steps import QualityCheckFailed, Step, StepContext, plan
from pki.key_backends.base import KeyBackendError
from pki.reasons import RevocationReason
from pki.services.revocation import card_certificates_revoke

logger = logging.getLogger(__name__)

# A station shows offline after CARDFORGE_STATION_OFFLINE_SECONDS (at least 5) without news.
STATION_BEAT_SECONDS = 1.0


class Outcome(Enum):
    DONE = "done"
    FAILED = "failed"
    NOT_CLAIMED = "not claimed"  # finished, cancelled, or another worker holds it
    STATION_BUSY = "station busy"  # another job holds it: try again shortly
    STATION_DISABLED = "station disabled"  # the job waits; requeue_stale_jobs sends it again
    LEASE_LOST = "lease lost"
    WRONG_STATION = "wrong station"  # received by a worker that is not the job's station


class LeaseLost(Exception):
    """Another worker took the job over (this one was thought dead): stop touching the card."""


def steps_for(job: PersonalizationJob) -> list[Step]:
    steps = plan(job.card_request.profile_version.definition)
    # The steps that pages and the API announce (runner/plan.py) are the ones that run.
    if [step.name for step in steps] + [FINISH_STEP] != step_names(job):
        msg = "runner/plan.py and runner/steps.py name different steps"
        raise RuntimeError(msg)
    return steps


def _stale_before(now: dt.datetime) -> dt.datetime:
    return now - dt.timedelta(seconds=settings.CARDFORGE_JOB_STALE_SECONDS)


def _claim(job_id: int, worker: str) -> bool:
    now = timezone.now()
    return bool(
        PersonalizationJob.objects.filter(pk=job_id)
        .filter(
            Q(status=PersonalizationJob.Status.WAITING)
            | Q(status=PersonalizationJob.Status.RUNNING, heartbeat_at__lt=_stale_before(now))
            | Q(status=PersonalizationJob.Status.RUNNING, lease_owner=worker)
        )
        .update(status=PersonalizationJob.Status.RUNNING, lease_owner=worker, heartbeat_at=now)
    )


def _take_station(job: PersonalizationJob, worker: str) -> Outcome | None:
    """Lease the job's station: free, already this job's, or left by a job that has ended.
    None when taken, otherwise why not (STATION_BUSY, STATION_DISABLED).

    A job that has not ended keeps its station however long its worker has been silent: on a
    PC/SC station its half-made card is still in the reader, and only that job may touch it
    again (`requeue_stale_jobs` resumes it), even if the station was disabled meanwhile. The
    station row is locked while deciding, so two jobs racing for it cannot both win. In the
    caller's transaction if there is one (job_run's, which also starts the job).
    """
    with transaction.atomic(savepoint=False):
        station = EncoderStation.objects.select_for_update().get(pk=job.station_id)
        if station.busy_job_id != job.pk:
            if not station.is_enabled:
                return Outcome.STATION_DISABLED
            if (
                station.busy_job_id is not None
                and PersonalizationJob.objects.filter(
                    pk=station.busy_job_id, status=PersonalizationJob.Status.RUNNING
                ).exists()
            ):
                return Outcome.STATION_BUSY
        update_where(
            EncoderStation,
            {"busy_job_id": job.pk, "heartbeat_at": timezone.now(), "worker": worker[:200]},
            {"id": station.pk},
        )
    return None


def _unclaim(job: PersonalizationJob, worker: str) -> None:
    """Give the job back untouched. One that has not begun a card waits again (and may still be
    cancelled); one that has stays running, unleased, until requeue_stale_jobs resumes it."""
    leased = PersonalizationJob.objects.filter(pk=job.pk, lease_owner=worker)
    if job.card_id is None:
        leased.update(status=PersonalizationJob.Status.WAITING, lease_owner="")
    else:
        leased.update(lease_owner="")


def _release_station(job: PersonalizationJob) -> None:
    """Free the station once the job has ended. A job still running keeps it: its worker bailed
    out (as a killed one would), or another worker took the job over."""
    with transaction.atomic():
        station = (
            EncoderStation.objects.select_for_update()
            .filter(pk=job.station_id, busy_job=job)
            .first()
        )
        if station is None or (
            PersonalizationJob.objects.filter(
                pk=job.pk, status=PersonalizationJob.Status.RUNNING
            ).exists()
        ):
            return
        update_where(EncoderStation, {"busy_job_id": None}, {"id": station.pk})


def _locked(job: PersonalizationJob, worker: str) -> PersonalizationJob:
    """The job row, locked, if this worker still holds it; LeaseLost otherwise."""
    row = PersonalizationJob.objects.select_for_update().get(pk=job.pk)
    if row.lease_owner != worker or row.status != PersonalizationJob.Status.RUNNING:
        raise LeaseLost
    return row


def _renew(job: PersonalizationJob, worker: str, *, now: dt.datetime, current_step: str) -> None:
    """Check the lease, beat the heartbeat and announce `current_step` in one statement: the
    conditional UPDATE locks the job row until the transaction ends, as `_locked` does;
    LeaseLost if this worker lost the job. In SQL (config/statements.py): it runs at every
    step."""
    renewed = update_where(
        PersonalizationJob,
        {"heartbeat_at": now, "current_step": current_step},
        {"id": job.pk, "lease_owner": worker, "status": PersonalizationJob.Status.RUNNING},
    )
    if not renewed:
        raise LeaseLost


def _station_beat(job: PersonalizationJob, now: dt.datetime) -> None:
    """The station's heartbeat (it shows online), written at most every STATION_BEAT_SECONDS:
    an emulated card's step takes milliseconds."""
    station = job.station
    last = station.heartbeat_at
    if last is None or (now - last).total_seconds() >= STATION_BEAT_SECONDS:
        update_where(EncoderStation, {"heartbeat_at": now}, {"id": station.pk})
        station.heartbeat_at = now


def _beat(job: PersonalizationJob, worker: str, *, current_step: str) -> None:
    now = timezone.now()
    with transaction.atomic():
        _renew(job, worker, now=now, current_step=current_step)
        _station_beat(job, now)


def _record(
    job,
    worker: str,
    step: Step,
    detail: dict,
    *,
    session: CardSession,
    started,
    apdus: int,
    next_step: str,
) -> None:
    """The step's journal entry and, in the same transaction under the same lease check, what
    the step did to an emulated card, and the next step announced with the heartbeats (what
    `_beat` does before a step). The card's changes are sealed before the transaction, which
    then holds the database for the writes alone."""
    session.seal_card()
    now = timezone.now()
    with transaction.atomic():
        _renew(job, worker, now=now, current_step=next_step)
        session.save_card()
        insert_one(
            JobStep,
            {
                "job_id": job.pk,
                "attempt": job.attempt,
                "name": step.name,
                "detail": detail,
                "apdus": apdus,
                "started_at": started,
                "finished_at": now,
            },
        )
        _station_beat(job, now)


def _finish(job: PersonalizationJob, worker: str, journal: dict) -> None:
    now = timezone.now()
    request = job.card_request  # loaded with its professional, profile and version
    with transaction.atomic():
        _renew(job, worker, now=now, current_step=FINISH_STEP)
        card = job.card  # recorded by identify_card, in this run or an earlier one
        # The cards it replaces (the professional's personalized cards of its profile), locked;
        # they go first: a professional has one personalized card of a profile at a time.
        replaced = []
        previous_pks = pks_where(
            Card,
            {
                "professional_id": card.professional_id,
                "card_profile_id": card.card_profile_id,
                "status": Card.Status.PERSONALIZED,
            },
            for_update=True,
        )
        for previous in Card.objects.filter(pk__in=previous_pks) if previous_pks else ():
            previous.status = Card.Status.REPLACED
            previous.save(update_fields=["status"])
            serials = card_certificates_revoke(
                card=previous,
                reason=RevocationReason.SUPERSEDED,
                comment=f"replaced by card {card.serial}",
            )
            audit_record(
                event=EventType.CARD_REPLACED,
                obj=previous,
                payload={
                    "serial": previous.serial,
                    "by_card": card.serial,
                    "revoked": serials,
                    "pin_mailer_destroyed": card_pin_mailer_destroy(previous),
                },
            )
            replaced.append(previous.serial)
        # Locks the card's row; only a card still being personalized becomes good.
        if not update_where(
            Card,
            {"status": Card.Status.PERSONALIZED, "issued_at": now},
            {"id": card.pk, "status": Card.Status.PERSONALIZING},
        ):
            status = Card.objects.filter(pk=card.pk).values_list("status", flat=True).first()
            msg = f"card {card.serial} is {status or 'gone'}, no longer being personalized"
            raise Conflict(msg, code="card_not_personalizing")
        card.status = Card.Status.PERSONALIZED
        card.issued_at = now
        card_request_complete(card_request_id=job.card_request_id)
        update_where(
            PersonalizationJob,
            {
                "status": PersonalizationJob.Status.DONE,
                "current_step": "",
                "lease_owner": "",
                "finished_at": now,
                "heartbeat_at": now,
            },
            {"id": job.pk},
        )
        # The job has ended: its station is free (what _release_station does, one transaction
        # fewer).
        update_where(
            EncoderStation, {"busy_job_id": None}, {"id": job.station_id, "busy_job_id": job.pk}
        )
        insert_one(
            JobStep,
            {
                "job_id": job.pk,
                "attempt": job.attempt,
                "name": FINISH_STEP,
                "detail": {"card_serial": card.serial, "replaced": replaced},
                "apdus": 0,
                "started_at": now,
                "finished_at": now,
            },
        )
        audit_record(
            event=EventType.CARD_PERSONALIZED,
            obj=card,
            payload={
                "serial": card.serial,
                "professional": request.professional.rpps,
                "profile": request.card_profile.name,
                "profile_version": request.profile_version.number,
                "station": job.station.name,
                "job": job.pk,
                "attempt": job.attempt,
                "certificates": journal.get("issue_certificates", {}).get("serials", {}),
            },
        )


def _fail(job: PersonalizationJob, worker: str, code: str, message: str) -> None:
    now = timezone.now()
    with transaction.atomic():
        try:
            _locked(job, worker)
        except LeaseLost:
            return
        card = Card.objects.filter(pk=job.card_id).first()
        ended = card_fail(card=card, comment="card personalization failed")
        PersonalizationJob.objects.filter(pk=job.pk).update(
            status=PersonalizationJob.Status.FAILED,
            error_code=code[:60],
            error_message=message,
            lease_owner="",
            finished_at=now,
        )
        audit_record(
            event=EventType.PERSONALIZATION_JOB_FAILED,
            obj=job,
            payload={
                "request": job.card_request_id,
                "station": job.station.name,
                "attempt": job.attempt,
                "step": job.current_step,
                "error": code,
                "message": message[:500],
                "card": card.serial if card else None,
                "revoked": ended.revoked,
                "pin_mailer_destroyed": ended.pin_mailer_destroyed,
            },
        )


def _started(job: PersonalizationJob, worker: str, journal: dict, *, current_step: str) -> None:
    """The job's start (or resumption) audited, with the first step announced and the
    heartbeats beaten as `_beat` does, in the caller's transaction if there is one."""
    now = timezone.now()
    with transaction.atomic(savepoint=False):
        _renew(job, worker, now=now, current_step=current_step)
        _station_beat(job, now)
        if job.started_at is None:
            update_where(PersonalizationJob, {"started_at": now}, {"id": job.pk})
            job.started_at = now
        audit_record(
            event=(
                EventType.PERSONALIZATION_JOB_STARTED
                if not journal
                else EventType.PERSONALIZATION_JOB_RESUMED
            ),
            obj=job,
            payload={
                "request": job.card_request_id,
                "station": job.station.name,
                "attempt": job.attempt,
                "steps_done": len(journal),
            },
        )


def _refuse_other_station(job_id: int, worker: str, stations: Collection[str]) -> bool:
    """True (and audited) when job `job_id` belongs to a station this worker does not serve:
    its message reached the wrong worker (a mistake, or a forged message); the job is left
    alone for its own station."""
    row = PersonalizationJob.objects.filter(pk=job_id).values_list("station__name").first()
    if row is None or row[0] in stations:
        return False
    received_by = ", ".join(sorted(stations)) or "(not a station)"
    logger.warning("job %s belongs to station %s; worker %s refused it", job_id, row[0], worker)
    with transaction.atomic():
        audit_record(
            event=EventType.PERSONALIZATION_JOB_REFUSED,
            object_type="personalization.personalizationjob",
            object_id=str(job_id),
            payload={"station": row[0], "received_by": received_by, "worker": worker[:200]},
        )
    return True


def job_run(*, job_id: int, worker: str, stations: Collection[str] | None = None) -> Outcome:
    """Run (or resume) job `job_id` as `worker`; see the module docstring. `stations` are the
    stations whose jobs this worker runs (the task passes CARDFORGE_STATIONS): a job of
    another station is refused. None is for in-process callers (tests, eager execution)."""
    if stations is not None and _refuse_other_station(job_id, worker, stations):
        return Outcome.WRONG_STATION
    if not _claim(job_id, worker):
        return Outcome.NOT_CLAIMED
    job = PersonalizationJob.objects.select_related(
        "station",
        "card",
        "card__professional__organisation",
        "card_request__profile_version",
        "card_request__professional__organisation",  # certificate subjects, printed information
        "card_request__card_profile",
    ).get(pk=job_id)
    # Only the lease holder writes the journal: read before the transaction that takes the
    # station and audits the start.
    journal = {
        step.name: step.detail for step in JobStep.objects.filter(job=job, attempt=job.attempt)
    }
    missing = [step for step in steps_for(job) if step.name not in journal]
    # The step the last record announced: no _beat needed before it.
    announced = missing[0].name if missing else FINISH_STEP
    try:
        with transaction.atomic():
            refused = _take_station(job, worker)
            if refused is None:
                _started(job, worker, journal, current_step=announced)
    except LeaseLost:
        logger.warning("job %s: another worker took it over before it started", job.pk)
        return Outcome.LEASE_LOST
    if refused is not None:
        _unclaim(job, worker)
        return refused
    session = CardSession(job.station, rotated="rotate_management_key" in journal)
    if job.card is not None:
        session.attach(job.card)
    finished = False  # _finish also frees the station
    context = StepContext(
        job=job,
        session=session,
        profile=job.card_request.profile_version.definition,
        journal=journal,
    )
    try:
        # A step may outlast the stale threshold: a thread beats for it meanwhile.
        with StepHeartbeat(job, worker) as heartbeat:
            # Before the first key is made (or the next step resumed): approved, under four
            # eyes, for the identity the request carries.
            context.identity = approved_identity(job.card_request_id)
            for index, step in enumerate(missing):
                if step.name != announced:
                    _beat(job, worker, current_step=step.name)
                following = missing[index + 1].name if index + 1 < len(missing) else FINISH_STEP
                started, apdus = timezone.now(), session.apdu_count

                def record(detail, step=step, started=started, apdus=apdus, following=following):
                    _record(
                        job,
                        worker,
                        step,
                        detail,
                        session=session,
                        started=started,
                        apdus=session.apdu_count - apdus,
                        next_step=following,
                    )

                heartbeat.step(step.name)
                if step.records_itself:
                    detail = step.run(context, record=record)
                else:
                    detail = step.run(context)
                    record(detail)
                heartbeat.between()
                journal[step.name] = detail
                announced = following
        _finish(job, worker, journal)
        finished = True
    except LeaseLost:
        logger.warning("job %s: another worker took it over; stopping", job.pk)
        return Outcome.LEASE_LOST
    except (CardError, QualityCheckFailed, DomainError, SealError, KeyBackendError) as error:
        message = getattr(error, "message", None) or str(error)
        job.refresh_from_db(fields=["current_step"])
        logger.warning("job %s failed at %s: %s", job.pk, job.current_step, message)
        _fail(job, worker, type(error).__name__, message)
        return Outcome.FAILED
    except Exception:
        logger.exception("job %s: unexpected error", job.pk)
        job.refresh_from_db(fields=["current_step"])
        _fail(job, worker, "internal_error", "an unexpected error stopped the job; see the logs")
        return Outcome.FAILED
    finally:
        session.close()
        if not finished:
            _release_station(job)
    return Outcome.DONE
