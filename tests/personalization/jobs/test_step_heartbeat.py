"""A step that outlasts CARDFORGE_JOB_STALE_SECONDS (an RSA key generated on an old card, a slow
reader) keeps its job alive: its worker beats for it, so the job is neither resent nor
abandonable meanwhile. A step that outlasts CARDFORGE_STEP_MAX_SECONDS is taken for hung: the
job goes stale, an operator can abandon it, and the worker, when the card answers at last,
stops without writing. On PostgreSQL: the beats come from a second connection."""

from __future__ import annotations

import time

import pytest

from accounts.roles import Role
from config.errors import Conflict
from personalization.models import EncoderStation, JobStep, PersonalizationJob
from personalization.runner.engine import Outcome, job_run
from personalization.services.jobs import job_abandon, jobs_requeue_stale

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

REASON = "the reader at desk 2 stopped answering"


@pytest.fixture
def no_crl_messages(monkeypatch):
    """Committed revocations would queue CRL regeneration on the broker: keep them here."""
    monkeypatch.setattr("pki.tasks.queue_crl_regeneration", lambda **kwargs: None)


def _job(request) -> PersonalizationJob:
    return PersonalizationJob.objects.get(card_request=request)


def test_a_step_longer_than_the_stale_threshold_keeps_its_job_alive(
    approved, users, station, cue, settings, celery_messages
):
    settings.CARDFORGE_JOB_STALE_SECONDS = 1  # a beat every third of a second
    job = _job(approved())
    seen = {}

    def slow_key_generation() -> None:
        time.sleep(2.5)  # two and a half stale thresholds inside one step
        row = PersonalizationJob.objects.get(pk=job.pk)
        seen["stalled"] = row.is_stalled()
        seen["resent"] = jobs_requeue_stale()
        seen["station_beat"] = EncoderStation.objects.get(pk=station.pk).heartbeat_at
        try:
            job_abandon(job=row, by=users[Role.ENCODING_OPERATOR], reason=REASON)
        except Conflict as error:
            seen["abandon"] = error.code
        seen["at"] = row.heartbeat_at

    cue("generate_9c", slow_key_generation)
    started = time.monotonic()
    assert job_run(job_id=job.pk, worker="slow-card") is Outcome.DONE
    assert time.monotonic() - started >= 2.5
    assert seen["stalled"] is False
    assert job.pk not in seen["resent"]
    assert seen["abandon"] == "worker_alive"
    step = JobStep.objects.get(job=job, name="generate_9c")
    # Beaten during the step, well after it began and after the last record before it.
    assert (seen["at"] - step.started_at).total_seconds() >= 1.5
    assert (seen["station_beat"] - step.started_at).total_seconds() >= 1.5
    job.refresh_from_db()
    assert job.status == PersonalizationJob.Status.DONE


def test_a_step_past_its_limit_is_taken_for_hung_and_can_be_abandoned(
    approved, users, cue, settings, celery_messages, no_crl_messages
):
    settings.CARDFORGE_JOB_STALE_SECONDS = 1
    settings.CARDFORGE_STEP_MAX_SECONDS = 1
    job = _job(approved())
    seen = {}

    def hung_reader() -> None:
        time.sleep(3)  # past the step limit, then a stale threshold without beats
        row = PersonalizationJob.objects.get(pk=job.pk)
        seen["stalled"] = row.is_stalled()
        job_abandon(job=row, by=users[Role.ENCODING_OPERATOR], reason=REASON)

    cue("write_objects", hung_reader)
    # The card answers at last; the worker's next lease check stops it.
    assert job_run(job_id=job.pk, worker="hung") is Outcome.LEASE_LOST
    assert seen["stalled"] is True
    job.refresh_from_db()
    assert (job.status, job.error_code) == ("failed", "abandoned")
    assert not JobStep.objects.filter(job=job, name="write_objects").exists()
