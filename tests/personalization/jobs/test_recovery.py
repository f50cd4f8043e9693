"""What brings a job back after its worker died, and what keeps it from coming back too often."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from personalization.models import PersonalizationJob
from personalization.runner.engine import Outcome, job_run
from personalization.services.jobs import jobs_requeue_stale
from tests.personalization.jobs.cues import SimulatedCrash

pytestmark = pytest.mark.django_db


def _job(request) -> PersonalizationJob:
    return PersonalizationJob.objects.get(card_request=request)


def _ago(**delta) -> dt.datetime:
    return timezone.now() - dt.timedelta(**delta)


def _crashed(job: PersonalizationJob, cue, step: str = "generate_9c") -> None:
    cue(step)
    with pytest.raises(SimulatedCrash):
        job_run(job_id=job.pk, worker="dies")


def test_a_dead_workers_job_is_sent_again_once_then_every_resend_period(
    approved, cue, settings, celery_messages
):
    settings.CARDFORGE_JOB_STALE_SECONDS = 60
    settings.CARDFORGE_JOB_RESEND_SECONDS = 300
    job, healthy = _job(approved()), _job(approved())
    _crashed(job, cue)
    PersonalizationJob.objects.filter(pk=job.pk).update(
        queued_at=_ago(seconds=100), heartbeat_at=_ago(seconds=90)
    )
    PersonalizationJob.objects.filter(pk=healthy.pk).update(
        status="running", queued_at=_ago(seconds=100), heartbeat_at=_ago(seconds=5)
    )

    assert jobs_requeue_stale() == [job.pk]
    # The next beats, while its station's worker is still down: no pile of copies.
    assert jobs_requeue_stale() == []
    assert celery_messages == [job.pk]
    PersonalizationJob.objects.filter(pk=job.pk).update(queued_at=_ago(seconds=301))
    assert jobs_requeue_stale() == [job.pk]

    assert job_run(job_id=job.pk, worker="resumes") is Outcome.DONE
