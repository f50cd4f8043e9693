"""The broker restarts, losing every message (a Redis without persistence): a job running at that
moment finishes, and a job whose message was lost is sent again by requeue_stale_jobs."""

from __future__ import annotations

import shutil

import pytest
from django.conf import settings

from accounts.roles import Role
from audit.selectors import audit_chain_verify
from cards.models import Card
from cards.services.card_requests import card_request_approve, card_request_submit
from config.celery import app
from personalization.models import PersonalizationJob
from personalization.services.jobs import job_queue
from personalization.services.stations import station_create
from personalization.tasks import personalize_card, requeue_stale_jobs
from signer.stations import station_enrol_here
from tests.factories import ProfessionalFactory
from tests.personalization.jobs.workers import (
    PrivateRedis,
    WorkerProcess,
    run_id,
    wait_until,
    worker_environment,
)

pytestmark = [
    pytest.mark.slow,  # real workers across a Redis restart
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def broker(tmp_path):
    if shutil.which("redis-server") is None:
        message = "redis-server is not installed (apt-get install redis-server)"
        if settings.CARDFORGE_REQUIRE_SERVICES:
            pytest.fail(message)
        pytest.skip(message)
    server = PrivateRedis.start(tmp_path / "redis")
    yield server
    server.stop()


def _send(task, broker: PrivateRedis, queue: str, *args) -> None:
    with app.connection_for_write(broker.url) as connection:
        task.apply_async(args=list(args), queue=queue, connection=connection)


def test_jobs_come_through_a_broker_restart_that_loses_every_message(
    pki, profiles, users, broker, celery_messages, tmp_path
):
    prefix = run_id()
    station = station_create(name=f"{prefix}-broker", transport="emulated")
    station_enrol_here(station)
    signer_queue = f"{prefix}-signer"
    # The signer's worker, on the same broker (it restarts under it too).
    signer = WorkerProcess.signer(
        tmp_path / "signer.log",
        env=worker_environment(CELERY_BROKER_URL=broker.url, CARDFORGE_SIGNER_QUEUE=signer_queue),
    )
    lost, running = (
        job_queue(
            card_request=card_request_approve(
                card_request=card_request_submit(
                    professional=ProfessionalFactory(),
                    profile=profiles["hpc-physician"],
                    by=users[Role.ENROLMENT_OFFICER],
                ),
                by=users[Role.APPROVING_OFFICER],
            ),
            station=station,
            by=users[Role.ENCODING_OPERATOR],
        )
        for _ in range(2)
    )
    _send(personalize_card, broker, station.queue, lost.pk)
    broker.restart()  # before any worker took it: the message is gone

    worker = WorkerProcess.station(
        station.name,
        tmp_path / "worker.log",
        env=worker_environment(
            CELERY_BROKER_URL=broker.url,
            DJANGO_SETTINGS_MODULE="tests.personalization.jobs.worker_settings",
            # The worker pauses in generate_9c while the broker restarts under it.
            CARDFORGE_TEST_CUE="generate_9c",
            CARDFORGE_TEST_CUE_ACTION="sleep:2",
            CARDFORGE_JOB_RESEND_SECONDS="1",
            CARDFORGE_SIGNER_QUEUE=signer_queue,
        ),
    )
    try:
        worker.wait_ready()
        signer.wait_ready()
        _send(personalize_card, broker, station.queue, running.pk)
        wait_until(
            lambda: PersonalizationJob.objects.filter(
                pk=running.pk, current_step="generate_9c"
            ).exists(),
            30,
            "the job to reach generate_9c",
            interval=0.05,
        )
        broker.restart()
        wait_until(
            lambda: PersonalizationJob.objects.filter(pk=running.pk, status="done").exists(),
            30,
            "the running job to finish without its broker",
        )
        worker.wait_for_log("Connection to broker lost", 10)
        # The worker is back on the new (empty) broker; the beat task finds the lost job.
        wait_until(lambda: worker.log().count("Connected to redis://") >= 2, 60, "a reconnection")
        _send(requeue_stale_jobs, broker, station.queue)
        wait_until(
            lambda: PersonalizationJob.objects.filter(pk=lost.pk, status="done").exists(),
            30,
            "the lost job to be sent again and finish",
        )
        assert worker.process.poll() is None
    finally:
        assert worker.stop() == 0, worker.log()[-3000:]
        assert signer.stop() == 0, signer.log()[-3000:]

    for job in (lost, running):
        cards = Card.objects.filter(card_request=job.card_request)
        assert [card.status for card in cards] == [Card.Status.PERSONALIZED]
    assert celery_messages == [lost.pk, running.pk]  # queued ones: this test sent them itself
    assert audit_chain_verify().intact
