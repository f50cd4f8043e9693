"""A station handles one card at a time: the job holding it keeps it until the job has ended,
whatever happens to its worker, and two jobs racing for it cannot both get it."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection, transaction
from django.utils import timezone

from accounts.roles import Role
from audit.events import EventType
from audit.services import audit_record
from cards.services.card_requests import card_request_approve, card_request_submit
from personalization.models import EncoderStation, PersonalizationJob
from personalization.runner.engine import Outcome, job_run
from personalization.station_states import StationBusy, station_take
from tests.factories import OrganisationFactory, ProfessionalFactory
from tests.personalization.jobs.cues import SimulatedCrash


def _job(request) -> PersonalizationJob:
    return PersonalizationJob.objects.get(card_request=request)


def _long_silence(station: EncoderStation) -> None:
    """Every heartbeat older than the stale threshold, as after a worker died long ago."""
    long_ago = timezone.now() - dt.timedelta(hours=1)
    PersonalizationJob.objects.update(heartbeat_at=long_ago)
    EncoderStation.objects.filter(pk=station.pk).update(heartbeat_at=long_ago)


@pytest.mark.django_db
def test_a_job_left_by_a_dead_worker_keeps_its_station_until_it_is_resumed(approved, station, cue):
    first, second = _job(approved()), _job(approved())
    cue("generate_9c")
    with pytest.raises(SimulatedCrash):
        job_run(job_id=first.pk, worker="dies")
    station.refresh_from_db()
    assert station.busy_job_id == first.pk

    # However stale, the first job's half-made card is the station's until that job ends.
    _long_silence(station)
    assert job_run(job_id=second.pk, worker="next") is Outcome.STATION_BUSY
    second.refresh_from_db()
    assert (second.status, second.card_id) == ("waiting", None)

    assert job_run(job_id=first.pk, worker="resumes") is Outcome.DONE
    station.refresh_from_db()
    assert station.busy_job_id is None
    assert job_run(job_id=second.pk, worker="next") is Outcome.DONE


@pytest.mark.django_db
def test_a_worker_that_lost_its_job_leaves_the_station_to_the_new_owner(approved, station, cue):
    job = _job(approved())

    def taken_over() -> None:
        # Meanwhile another worker thought this one dead and claimed the job.
        PersonalizationJob.objects.filter(pk=job.pk).update(
            lease_owner="takes-over", heartbeat_at=timezone.now()
        )

    cue("write_objects", taken_over)
    assert job_run(job_id=job.pk, worker="slow") is Outcome.LEASE_LOST
    station.refresh_from_db()
    assert station.busy_job_id == job.pk

    assert job_run(job_id=job.pk, worker="takes-over") is Outcome.DONE
    station.refresh_from_db()
    assert station.busy_job_id is None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_jobs_racing_for_a_station_cannot_both_get_it(approved, station, celery_messages):
    first, second = _job(approved()), _job(approved())
    taken = {}
    first_holds_its_lock = threading.Event()

    def take_first() -> None:
        try:
            with transaction.atomic():
                station_take(first, "w1")
                taken["first"] = "taken"
                first_holds_its_lock.set()
                # The second one now waits for this transaction, then decides.
                threading.Event().wait(0.5)
        finally:
            first_holds_its_lock.set()
            connection.close()

    def take_second() -> None:
        first_holds_its_lock.wait(10)
        try:
            try:
                station_take(second, "w2")
                taken["second"] = "taken"
            except StationBusy:
                taken["second"] = "busy"
        finally:
            connection.close()

    PersonalizationJob.objects.filter(pk__in=[first.pk, second.pk]).update(status="running")
    threads = [threading.Thread(target=take_first), threading.Thread(target=take_second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert taken == {"first": "taken", "second": "busy"}
    station.refresh_from_db()
    assert station.busy_job_id == first.pk


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_station_taken_does_not_deadlock_with_an_approval_queueing_a_job_on_it(
    approved, station, profiles, users, celery_messages
):
    """Found by the separated-workers benchmark under load: a station worker took its station
    (row locked) then wrote the job's start to the audit trail, while an approval held the
    trail's head and inserted a job for that station (its foreign key waits for the station's
    row). PostgreSQL killed one of them as a deadlock and the job stayed running, stranded.
    Taking the station must not block a row that merely refers to it."""
    running = _job(approved())
    PersonalizationJob.objects.filter(pk=running.pk).update(status="running")
    submitted = card_request_submit(
        professional=ProfessionalFactory(organisation=OrganisationFactory()),
        profile=profiles["hpc-physician"],
        by=users[Role.ENROLMENT_OFFICER],
    )
    errors: list[BaseException] = []
    station_held = threading.Event()

    def station_worker() -> None:
        try:
            with transaction.atomic():
                station_take(running, "worker")
                station_held.set()
                threading.Event().wait(1.5)  # the approval now holds the trail's head
                audit_record(event=EventType.PERSONALIZATION_JOB_STARTED, obj=running)
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)
        finally:
            station_held.set()
            connection.close()

    def approving_officer() -> None:
        station_held.wait(10)
        try:
            card_request_approve(card_request=submitted, by=users[Role.APPROVING_OFFICER])
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=station_worker), threading.Thread(target=approving_officer)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == []
    assert PersonalizationJob.objects.filter(card_request=submitted, station=station).exists()
