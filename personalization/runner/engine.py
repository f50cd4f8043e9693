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

import logging
from collections.abc import Collection
from enum import Enum

from cryptography import x509
from django.db import transaction
from django.utils import timezone

from audit.events import EventType
from audit.services import audit_record
from cardedge.apdu.errors import CardError
from cards.models import Card
from cards.services.card_actions import card_unblocked
from cards.services.cards import card_fail, card_personalized
from config.errors import DomainError
from config.sealing import SealError
from config.statements import insert_one, update_where
from personalization.dispatch import signer_request_here, signer_request_send
from personalization.job_states import (
    LeaseLost,
    job_claim,
    job_done,
    job_failed,
    job_hand_over,
    job_lease_renew,
    job_locked,
    job_started,
    job_unclaim,
)
from personalization.models import JobStep, PersonalizationJob
from personalization.runner.approval import job_approved
from personalization.runner.heartbeat import StepHeartbeat
from personalization.runner.plan import (
    FINISH_STEP,
    job_printing,
    signer_step_of,
    station_printing,
    step_names,
)
from personalization.runner.session import CardSession
from personalization.runner.steps import (
    QualityCheckFailed,
    Step,
    StepContext,
    plan,
    unblock_plan,
)
from personalization.runner.steps.base import delivered
from personalization.station_identity import station_certificate, station_key
from personalization.station_states import (
    StationBusy,
    StationDisabled,
    station_beat,
    station_free,
    station_release,
    station_take,
)
from pki.envelopes import EnvelopeError, request_sign
from pki.key_backends.base import KeyBackendError

logger = logging.getLogger(__name__)


class Outcome(Enum):
    DONE = "done"
    FAILED = "failed"
    NOT_CLAIMED = "not claimed"  # finished, cancelled, or another worker holds it
    STATION_BUSY = "station busy"  # another job holds it: try again shortly
    STATION_DISABLED = "station disabled"  # the job waits; requeue_stale_jobs sends it again
    LEASE_LOST = "lease lost"
    WRONG_STATION = "wrong station"  # received by a worker that is not the job's station
    AT_SIGNER = "at the signer"  # handed to the signer, which sends it back when done


def steps_for(job: PersonalizationJob) -> list[Step]:
    steps = (
        unblock_plan()
        if job.kind == PersonalizationJob.Kind.UNBLOCK
        else plan(job.card_request.profile_version.definition, job_printing(job))
    )
    # The steps that pages and the API announce (runner/plan.py) are the ones that run.
    if [step.name for step in steps] + [FINISH_STEP] != step_names(job):
        msg = "runner/plan.py and runner/steps/ name different steps"
        raise RuntimeError(msg)
    return steps


def _beat(job: PersonalizationJob, worker: str, *, current_step: str) -> None:
    now = timezone.now()
    with transaction.atomic():
        job_lease_renew(job, worker, now=now, current_step=current_step)
        station_beat(job.station, now)


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
        job_lease_renew(job, worker, now=now, current_step=next_step)
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
        station_beat(job.station, now)


def _finish(job: PersonalizationJob, worker: str, journal: dict) -> None:
    """The last step, in one transaction under the lease check: the card becomes personalized
    and its request completed (cards/services/cards.py), or, for an unblock, the unblock is
    audited (cards/services/card_actions.py); the job done and its station free
    (job_states.py), and the finish journalled."""
    now = timezone.now()
    with transaction.atomic():
        job_lease_renew(job, worker, now=now, current_step=FINISH_STEP)
        card = job.card  # recorded by identify_card, in this run or an earlier one
        made = {"station": job.station.name, "job": job.pk, "attempt": job.attempt}
        if job.kind == PersonalizationJob.Kind.UNBLOCK:
            card_unblocked(card=card, card_action_id=job.card_action_id, made=made)
        else:
            card.card_request = job.card_request  # the same row, loaded with the job
            card_personalized(
                card=card,
                now=now,
                made={
                    **made,
                    "certificates": journal.get("issue_certificates", {}).get("serials", {}),
                },
            )
        job_done(job, now=now)
        station_free(job)
        insert_one(
            JobStep,
            {
                "job_id": job.pk,
                "attempt": job.attempt,
                "name": FINISH_STEP,
                "detail": {"card_serial": card.serial},
                "apdus": 0,
                "started_at": now,
                "finished_at": now,
            },
        )


def job_fail(job: PersonalizationJob, worker: str, code: str, message: str) -> None:
    """The job fails under `worker`'s lease ("" for a job handed to the signer, which calls
    this): its card fails, its certificates are revoked, audited. Nothing if the lease is gone."""
    now = timezone.now()
    with transaction.atomic():
        try:
            job_locked(job, worker)
        except LeaseLost:
            return
        card = Card.objects.filter(pk=job.card_id).first()
        ended = card_fail(card=card, comment="card personalization failed")
        job_failed(job, code=code, message=message, now=now)
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
        job_lease_renew(job, worker, now=now, current_step=current_step)
        station_beat(job.station, now)
        job_started(job, now=now)
        if not journal:
            update_where(PersonalizationJob, {"printing": job.printing}, {"id": job.pk})
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


def _signer_request(job: PersonalizationJob, lease: str) -> dict:
    return {"job": job.pk, "attempt": job.attempt, "station": job.station.name, "lease": lease}


def _signed_request(job: PersonalizationJob) -> str:
    """The hand-over request, signed by the station (pki/envelopes.py): the signer answers
    only its registered stations, each for its own jobs."""
    station = job.station
    return request_sign(
        _signer_request(job, ""),
        key=station_key(station),
        certificate=station_certificate(station),
    )


def _sign_inline(context: StepContext, worker: str) -> dict | None:
    """Station and signer in one process (an in-process caller: tests, eager execution, the
    benchmark): the signer answers now, under this worker's lease. Its step's journal entry
    (the certificates it issued kept for the steps that write them), or None when the signer
    failed the job."""
    job = context.job
    answer = signer_request_here(
        _signer_request(job, worker), job=job, journal=dict(context.journal)
    )
    if answer.outcome == "failed":
        return None
    if answer.outcome not in ("signed", "already signed"):
        msg = f"job {job.pk}: the signer refused this worker's request"
        raise RuntimeError(msg)
    if answer.detail is None:  # signed before: its entry is in the journal's table
        return JobStep.objects.get(job=job, attempt=job.attempt, name=signer_step_of(job)).detail
    if answer.certificates is not None:
        context.certificates = {
            slot: x509.load_der_x509_certificate(der) for slot, der in answer.certificates.items()
        }
    return answer.detail


def _hand_over(job: PersonalizationJob, worker: str) -> None:
    """Release the lease (the station stays the job's: the card is in its reader) and, once
    that is committed, ask the signer's worker, which sends the job back when done."""
    envelope = _signed_request(job)
    with transaction.atomic():
        job_hand_over(job, worker)
        transaction.on_commit(lambda: signer_request_send(envelope))


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
    another station is refused, and the signer's step is handed to the signer's worker. None is
    for in-process callers (tests, eager execution), which run the signer's step here too."""
    if stations is not None and _refuse_other_station(job_id, worker, stations):
        return Outcome.WRONG_STATION
    if not job_claim(job_id, worker):
        return Outcome.NOT_CLAIMED
    job = PersonalizationJob.objects.select_related(
        "station__certificate",  # the signer seals the card's delivery for it
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
    if not journal and job.kind == PersonalizationJob.Kind.PERSONALIZE:
        # This attempt starts: its steps follow the station's printer as it is now, whatever
        # is changed before the attempt ends (written with the start, under the lease).
        job.printing = station_printing(job.station)
    missing = [step for step in steps_for(job) if step.name not in journal]
    # The step the last record announced: no _beat needed before it.
    announced = missing[0].name if missing else FINISH_STEP
    try:
        with transaction.atomic():
            station_take(job, worker)
            _started(job, worker, journal, current_step=announced)
    except LeaseLost:
        logger.warning("job %s: another worker took it over before it started", job.pk)
        return Outcome.LEASE_LOST
    except (StationBusy, StationDisabled) as refused:
        job_unclaim(job, worker)
        return (
            Outcome.STATION_BUSY if isinstance(refused, StationBusy) else Outcome.STATION_DISABLED
        )
    session = CardSession(job.station, rotated="rotate_management_key" in journal)
    if job.card is not None:
        session.attach(job.card)
    finished = False  # _finish also frees the station
    handed_over = False
    context = StepContext(
        job=job,
        session=session,
        profile=job.card_request.profile_version.definition,
        journal=journal,
    )
    session.delivered_key = lambda: delivered(context).management_key
    try:
        # A step may outlast the stale threshold: a thread beats for it meanwhile.
        with StepHeartbeat(job, worker) as heartbeat:
            # Before the first key is made (or the next step resumed): approved, under four
            # eyes, for the identity the request carries.
            context.identity = job_approved(job)
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
                if step.on_signer:
                    if stations is not None:
                        handed_over = True  # the signer's worker takes it from here
                        break
                    detail = _sign_inline(context, worker)
                    if detail is None:
                        return Outcome.FAILED  # the signer failed the job (and audited why)
                    _beat(job, worker, current_step=following)  # as a record announces it
                elif step.records_itself:
                    detail = step.run(context, record=record)
                else:
                    detail = step.run(context)
                    record(detail)
                heartbeat.between()
                journal[step.name] = detail
                announced = following
        if handed_over:
            session.close()  # the reader is free for the run that resumes the job
            _hand_over(job, worker)
            return Outcome.AT_SIGNER
        _finish(job, worker, journal)
        finished = True
    except LeaseLost:
        logger.warning("job %s: another worker took it over; stopping", job.pk)
        return Outcome.LEASE_LOST
    except (
        CardError,
        QualityCheckFailed,
        DomainError,
        SealError,
        KeyBackendError,
        EnvelopeError,
    ) as error:
        message = getattr(error, "message", None) or str(error)
        job.refresh_from_db(fields=["current_step"])
        logger.warning("job %s failed at %s: %s", job.pk, job.current_step, message)
        job_fail(job, worker, type(error).__name__, message)
        return Outcome.FAILED
    except Exception:
        logger.exception("job %s: unexpected error", job.pk)
        job.refresh_from_db(fields=["current_step"])
        job_fail(job, worker, "internal_error", "an unexpected error stopped the job; see the logs")
        return Outcome.FAILED
    finally:
        session.close()
        if not finished:
            station_release(job)
    return Outcome.DONE
