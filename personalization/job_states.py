"""A personalization job's states: this module is the only one that writes a job's status and
its lease.

The table says which move each function makes. Services (services/jobs.py: queue, retry,
cancel, abandon) check who may and audit; the runner (runner/engine.py) claims, renews,
finishes and fails. Each write is one conditional UPDATE that names the state it leaves, so two
writers racing for a job cannot both move it: the loser changes nothing and is told so.

The lease: a worker that claims a job writes its name in `lease_owner` and beats `heartbeat_at`;
every journal write first renews the lease in the same transaction (`job_lease_renew`), so a
worker that lost the job (another took it over when its heartbeat went stale) writes nothing.
The runner's hot path writes in SQL (config/statements.py), as its rule there allows.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from config.statements import update_where
from personalization.deliveries import deliveries_destroy
from personalization.models import PersonalizationJob

Status = PersonalizationJob.Status
NEW = "(new)"
TRANSITIONS: dict[str, dict[str, str]] = {
    NEW: {Status.WAITING: "services/jobs.py: queued (on approval, or by an operator)"},
    Status.WAITING: {
        Status.RUNNING: "job_claim (a worker of its station takes it)",
        Status.CANCELLED: "job_cancelled (an operator, before a card is begun)",
    },
    Status.RUNNING: {
        Status.RUNNING: "job_claim (a worker takes over a job whose heartbeat went stale, or one "
        "the signer handed back); job_hand_over (to the signer, its lease released)",
        Status.WAITING: "job_unclaim (given back before a card was begun: station busy or off)",
        Status.DONE: "job_done (its card is personalized)",
        Status.FAILED: "job_failed (a step failed, or an operator abandoned a stalled job)",
    },
    Status.FAILED: {Status.WAITING: "job_retried (a new attempt on a new blank card)"},
    Status.DONE: {},
    Status.CANCELLED: {},
}


class LeaseLost(Exception):
    """Another worker took the job over (this one was thought dead): stop touching the card."""


def stale_before(now: dt.datetime) -> dt.datetime:
    return now - dt.timedelta(seconds=settings.CARDFORGE_JOB_STALE_SECONDS)


def job_claim(job_id: int, worker: str) -> bool:
    """Waiting, stale, or already this worker's: now running under `worker`'s lease."""
    now = timezone.now()
    return bool(
        PersonalizationJob.objects.filter(pk=job_id)
        .filter(
            Q(status=Status.WAITING)
            | Q(status=Status.RUNNING, heartbeat_at__lt=stale_before(now))
            | Q(status=Status.RUNNING, lease_owner=worker)
            | Q(status=Status.RUNNING, lease_owner="")  # handed over, or given back
        )
        .update(status=Status.RUNNING, lease_owner=worker, heartbeat_at=now)
    )


def job_unclaim(job: PersonalizationJob, worker: str) -> None:
    """Give the job back untouched. One that has not begun a card waits again (and may still be
    cancelled); one that has stays running, unleased, until requeue_stale_jobs resumes it."""
    leased = PersonalizationJob.objects.filter(pk=job.pk, lease_owner=worker)
    if job.card_id is None:
        leased.update(status=Status.WAITING, lease_owner="")
    else:
        leased.update(lease_owner="")


def job_locked(job: PersonalizationJob, worker: str) -> PersonalizationJob:
    """The job row, locked, if this worker still holds it; LeaseLost otherwise."""
    row = PersonalizationJob.objects.select_for_update(no_key=True).get(pk=job.pk)
    if row.lease_owner != worker or row.status != Status.RUNNING:
        raise LeaseLost
    return row


def job_lease_renew(
    job: PersonalizationJob, worker: str, *, now: dt.datetime, current_step: str
) -> None:
    """Check the lease, beat the heartbeat and announce `current_step` in one statement: the
    conditional UPDATE locks the job row until the transaction ends, as `job_locked` does;
    LeaseLost if this worker lost the job."""
    renewed = update_where(
        PersonalizationJob,
        {"heartbeat_at": now, "current_step": current_step},
        {"id": job.pk, "lease_owner": worker, "status": Status.RUNNING},
    )
    if not renewed:
        raise LeaseLost


def job_hand_over(job: PersonalizationJob, worker: str) -> None:
    """This worker hands the job to the signer (docs/signer.md): still running, at the signer's
    step, leased by nobody until the signer sends it back; LeaseLost if no longer its job."""
    if not update_where(
        PersonalizationJob,
        {"lease_owner": "", "heartbeat_at": timezone.now()},
        {"id": job.pk, "lease_owner": worker, "status": Status.RUNNING},
    ):
        raise LeaseLost


def job_started(job: PersonalizationJob, *, now: dt.datetime) -> None:
    """When it first started (a resumed job keeps it)."""
    if job.started_at is None:
        update_where(PersonalizationJob, {"started_at": now}, {"id": job.pk})
        job.started_at = now


def job_done(job: PersonalizationJob, *, now: dt.datetime) -> None:
    """Running -> done, its lease released; in the finish's transaction, under its lease check."""
    update_where(
        PersonalizationJob,
        {
            "status": Status.DONE,
            "current_step": "",
            "lease_owner": "",
            "finished_at": now,
            "heartbeat_at": now,
        },
        {"id": job.pk, "status": Status.RUNNING},
    )
    job.status = Status.DONE
    deliveries_destroy(job)


def job_failed(job: PersonalizationJob, *, code: str, message: str, now: dt.datetime) -> bool:
    """Running -> failed with `code` and `message`, its lease released. False if it was not
    running (another writer ended it first)."""
    failed = PersonalizationJob.objects.filter(pk=job.pk, status=Status.RUNNING).update(
        status=Status.FAILED,
        error_code=code[:60],
        error_message=message,
        lease_owner="",
        finished_at=now,
    )
    if failed:
        job.status, job.error_code, job.error_message = Status.FAILED, code[:60], message
        job.lease_owner, job.finished_at = "", now
        deliveries_destroy(job)
    return bool(failed)


def job_cancelled(job: PersonalizationJob, *, now: dt.datetime) -> bool:
    """Waiting -> cancelled. False if it was no longer waiting."""
    cancelled = PersonalizationJob.objects.filter(pk=job.pk, status=Status.WAITING).update(
        status=Status.CANCELLED, finished_at=now
    )
    if cancelled:
        job.status, job.finished_at = Status.CANCELLED, now
    return bool(cancelled)


def job_retried(job: PersonalizationJob, *, now: dt.datetime) -> bool:
    """Failed -> waiting, as a new attempt with nothing of the last one: no card, no error, no
    lease. False if it was no longer failed."""
    retried = PersonalizationJob.objects.filter(pk=job.pk, status=Status.FAILED).update(
        attempt=job.attempt + 1,
        status=Status.WAITING,
        card=None,
        current_step="",
        error_code="",
        error_message="",
        lease_owner="",
        queued_at=now,
        started_at=None,
        finished_at=None,
        heartbeat_at=None,
    )
    if retried:
        job.refresh_from_db()
    return bool(retried)


def job_resent(job: PersonalizationJob, *, now: dt.datetime) -> None:
    """Its message sent again (requeue_stale_jobs): `queued_at` records the last sending."""
    PersonalizationJob.objects.filter(pk=job.pk, status=job.status).update(queued_at=now)
