"""Crash safety with real workers: a Celery worker SIGKILLed in the middle of each step in turn.

Each step gets a station and a job of its own, and a worker (`manage.py run_station`, with the
cued transports of cues.py) that kills itself — main process and pool process — in that step;
the signer's step kills the signer's worker instead (`manage.py run_signer`, cued on its second
signature), while a signer's worker of the product's own serves the other jobs.
Then one worker, the product's settings only, is started for all the stations and
`requeue_stale_jobs` (stale after 1 s) sends the dead workers' jobs again: every job must end
personalized, with one card per request, no certificate left valid for a card that is not
personalized, and the audit chain intact.
"""

from __future__ import annotations

import signal

import pytest

from accounts.roles import Role
from audit.events import EventType
from audit.models import AuditEvent
from audit.selectors import audit_chain_verify
from cards.models import Card
from cards.services.card_requests import card_request_approve, card_request_submit
from personalization.models import EmulatedCard, JobStep, PersonalizationJob
from personalization.runner.engine import step_names
from personalization.runner.plan import SIGNER_STEP
from personalization.services.jobs import job_queue
from personalization.services.stations import station_create
from personalization.tasks import requeue_stale_jobs
from pki.models import Certificate
from signer.stations import station_enrol_here
from tests.factories import ProfessionalFactory
from tests.personalization.jobs.cues import CUED_STEPS
from tests.personalization.jobs.workers import (
    WorkerProcess,
    forget_run,
    run_id,
    wait_until,
    worker_environment,
)

pytestmark = [
    pytest.mark.slow,  # real worker processes, killed and restarted
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]
WORKER_SETTINGS = "tests.personalization.jobs.worker_settings"
# Crashing workers start together, a few at a time (two cores: more only queue for the CPU).
AT_ONCE = 6


@pytest.fixture
def run():
    """This run's station names; their queues are forgotten in Redis afterwards."""
    prefix, queues = run_id(), []
    yield prefix, queues
    forget_run(prefix, queues)


def _job_per_step(steps: list[str], prefix: str, queues: list[str], profiles, users):
    """One approved request per step, each queued on a station of its own (enrolled)."""
    jobs = {}
    for index, step in enumerate(steps):
        station = station_create(name=f"{prefix}-{index}", transport="emulated")
        station_enrol_here(station)
        queues.append(station.queue)
        request = card_request_submit(
            professional=ProfessionalFactory(),
            profile=profiles["hpc-physician"],
            by=users[Role.ENROLMENT_OFFICER],
        )
        request = card_request_approve(card_request=request, by=users[Role.APPROVING_OFFICER])
        jobs[step] = job_queue(
            card_request=request, station=station, by=users[Role.ENCODING_OPERATOR]
        )
    return jobs


def _kill_in_each_step(jobs: dict, tmp_path, signer_queue: str) -> None:
    steps = list(jobs)
    for start in range(0, len(steps), AT_ONCE):
        workers, dying = {}, {}
        for step in steps[start : start + AT_ONCE]:
            pidfile = tmp_path / f"{step}.pid"
            cued = {
                "DJANGO_SETTINGS_MODULE": WORKER_SETTINGS,
                "CARDFORGE_TEST_CUE": step,
                "CARDFORGE_TEST_WORKER_PIDFILE": str(pidfile),
            }
            if step == SIGNER_STEP:
                # The signer's worker of this job alone dies in its step; its station does not.
                queue = f"{signer_queue}-cued"
                dying[step] = WorkerProcess.signer(
                    tmp_path / f"{step}-signer.log",
                    f"--pidfile={pidfile}",
                    env=worker_environment(**cued, CARDFORGE_SIGNER_QUEUE=queue),
                )
                env = worker_environment(CARDFORGE_SIGNER_QUEUE=queue)
                workers[step] = WorkerProcess.station(
                    jobs[step].station.name, tmp_path / f"{step}.log", env=env
                )
                continue
            env = worker_environment(**cued, CARDFORGE_SIGNER_QUEUE=signer_queue)
            workers[step] = dying[step] = WorkerProcess.station(
                jobs[step].station.name, tmp_path / f"{step}.log", f"--pidfile={pidfile}", env=env
            )
        try:
            for step, worker in dying.items():
                code = worker.wait_exit(90)
                assert code == -signal.SIGKILL, f"{step}: exit {code}\n{worker.log()[-3000:]}"
        finally:  # a worker whose cue never came must not outlive the test (it holds the DB)
            for worker in [*workers.values(), *dying.values()]:
                worker.stop()


def _assert_killed_in_its_step(jobs: dict, steps: list[str]) -> None:
    """What each dead worker left: a running job whose journal stops right before its step."""
    for step, job in jobs.items():
        job.refresh_from_db()
        journal = list(JobStep.objects.filter(job=job).values_list("name", flat=True))
        assert job.status == "running", (step, job.status, job.error_message)
        assert journal == steps[: steps.index(step)], (step, journal)


def test_a_worker_killed_in_any_step_leaves_jobs_that_all_finish_after_a_restart(
    pki, profiles, users, run, tmp_path
):
    prefix, queues = run
    jobs = _job_per_step(list(CUED_STEPS), prefix, queues, profiles, users)
    steps = step_names(next(iter(jobs.values())))
    assert set(steps) == set(CUED_STEPS), "a step without a cue: add it to cues.py"
    jobs = {step: jobs[step] for step in steps}
    signer_queue = f"{prefix}-signer"
    queues += [signer_queue, f"{signer_queue}-cued"]
    signer = WorkerProcess.signer(
        tmp_path / "signer.log", env=worker_environment(CARDFORGE_SIGNER_QUEUE=signer_queue)
    )
    try:
        signer.wait_ready()
        _kill_in_each_step(jobs, tmp_path, signer_queue)
        _assert_killed_in_its_step(jobs, steps)
        _restart_and_finish(jobs, prefix, queues, tmp_path, signer_queue)
    finally:
        assert signer.stop() == 0, signer.log()[-3000:]
    _assert_one_good_card_each(jobs)


def _restart_and_finish(jobs: dict, prefix: str, queues: list[str], tmp_path, signer_queue):

    # A worker comes back for every station; the beat task finds the stale jobs and resends them.
    control = f"{prefix}-control"
    queues.append(control)
    worker = WorkerProcess.queues(
        [*(job.station.queue for job in jobs.values()), control],
        f"{prefix}-restarted",
        tmp_path / "restarted.log",
        env=worker_environment(
            CARDFORGE_JOB_STALE_SECONDS="1",
            # One worker serves every station here: it must say so, or it runs none of them.
            CARDFORGE_STATIONS=",".join(job.station.name for job in jobs.values()),
            CARDFORGE_SIGNER_QUEUE=signer_queue,
        ),
    )
    try:
        worker.wait_ready()
        requeue_stale_jobs.apply_async(queue=control)
        wait_until(
            lambda: not PersonalizationJob.objects.exclude(status="done").exists(),
            120,
            "every job to finish",
            interval=0.25,
        )
    finally:
        assert worker.stop() == 0, worker.log()[-3000:]


def _assert_one_good_card_each(jobs: dict) -> None:
    for step, job in jobs.items():
        cards = list(Card.objects.filter(card_request=job.card_request))
        assert [card.status for card in cards] == [Card.Status.PERSONALIZED], step
        certificates = Certificate.objects.for_card(cards[0])
        assert sorted(c.card_slot for c in certificates) == ["9A", "9C", "9D", "9E"], step
        # Started by the worker that died, started again (nothing journalled) or resumed after,
        # and resumed once more when the signer sent the job back.
        runs = AuditEvent.objects.filter(
            event__in=[
                EventType.PERSONALIZATION_JOB_STARTED,
                EventType.PERSONALIZATION_JOB_RESUMED,
            ],
            object_id=str(job.pk),
        )
        assert runs.count() == 3, step
    # No certificate is valid unless its card is personalized (none was even issued twice: the
    # transaction the worker died in rolled back).
    on_cards = Certificate.objects.exclude(card_object_id="")
    assert on_cards.count() == 4 * len(jobs)
    personalized = {str(pk) for pk in Card.objects.personalized().values_list("pk", flat=True)}
    assert set(on_cards.valid().values_list("card_object_id", flat=True)) <= personalized
    # The worker killed in identify_card had not saved the blank emulated card it was reading:
    # that is saved with the card row and the step's journal entry, or not at all.
    assert EmulatedCard.objects.count() == len(jobs)
    assert not EmulatedCard.objects.filter(card__isnull=True).exists()
    assert audit_chain_verify().intact


def test_a_pool_process_killed_mid_step_is_replaced_and_the_redelivered_job_resumes_at_once(
    pki, profiles, users, run, tmp_path
):
    """Only the process running the task dies: the worker's main process requeues the message
    (reject_on_worker_lost), the same node gets it again and resumes the job without waiting
    for its heartbeat to go stale."""
    prefix, queues = run
    job = _job_per_step(["generate_9c"], prefix, queues, profiles, users)["generate_9c"]
    env = worker_environment(
        DJANGO_SETTINGS_MODULE=WORKER_SETTINGS,
        CARDFORGE_TEST_CUE="generate_9c",
        CARDFORGE_TEST_CUE_ACTION="sigkill-pool",
        CARDFORGE_TEST_CUE_ONCE=str(tmp_path / "fired"),
        CARDFORGE_JOB_STALE_SECONDS="3600",
        CARDFORGE_SIGNER_QUEUE=f"{prefix}-signer",
    )
    queues.append(f"{prefix}-signer")
    signer = WorkerProcess.signer(
        tmp_path / "signer.log", env=worker_environment(CARDFORGE_SIGNER_QUEUE=f"{prefix}-signer")
    )
    worker = WorkerProcess.station(job.station.name, tmp_path / "worker.log", env=env)
    try:
        wait_until(
            lambda: PersonalizationJob.objects.filter(pk=job.pk, status="done").exists(),
            60,
            "the job to finish",
            interval=0.1,
        )
        assert worker.process.poll() is None
    finally:
        assert worker.stop() == 0, worker.log()[-3000:]
        assert signer.stop() == 0, signer.log()[-3000:]

    assert (tmp_path / "fired").exists()
    assert "WorkerLostError" in worker.log()
    assert AuditEvent.objects.filter(
        event=EventType.PERSONALIZATION_JOB_RESUMED, object_id=str(job.pk)
    ).exists()
    journal = list(JobStep.objects.filter(job=job).values_list("name", flat=True))
    assert journal == step_names(job)
    card = Card.objects.get(card_request=job.card_request)
    assert card.status == Card.Status.PERSONALIZED
    assert Certificate.objects.for_card(card).valid().count() == 4
    assert audit_chain_verify().intact
