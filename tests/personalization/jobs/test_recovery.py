"""What brings a job back after its worker died, and what keeps it from coming back too often."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from accounts.roles import Role
from config.errors import Conflict
from personalization.models import EncoderStation, PersonalizationJob
from personalization.runner.engine import Outcome, job_run
from personalization.services.jobs import job_cancel, jobs_requeue_stale
from personalization.tasks import personalize_card
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


def test_a_job_for_a_disabled_station_waits_without_retrying(approved, station):
    job = _job(approved())
    EncoderStation.objects.filter(pk=station.pk).update(is_enabled=False)

    result = personalize_card.apply(args=[job.pk])

    assert (result.state, result.result) == ("SUCCESS", Outcome.STATION_DISABLED.value)
    job.refresh_from_db()
    assert (job.status, job.lease_owner, job.card_id) == ("waiting", "", None)


def test_a_begun_job_finishes_on_a_station_disabled_meanwhile(approved, station, cue):
    job = _job(approved())
    _crashed(job, cue, "write_objects")
    EncoderStation.objects.filter(pk=station.pk).update(is_enabled=False)
    PersonalizationJob.objects.filter(pk=job.pk).update(heartbeat_at=_ago(hours=1))

    assert job_run(job_id=job.pk, worker="resumes") is Outcome.DONE


def test_a_job_that_has_begun_a_card_cannot_be_cancelled(approved, cue, users):
    job = _job(approved())
    _crashed(job, cue, "write_objects")
    # However it came to be waiting again, its card has valid certificates.
    PersonalizationJob.objects.filter(pk=job.pk).update(status="waiting", lease_owner="")

    with pytest.raises(Conflict, match="has begun a card"):
        job_cancel(job=job, by=users[Role.ENCODING_OPERATOR])
    job.refresh_from_db()
    assert job.status == "waiting"
