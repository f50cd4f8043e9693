"""station_update and station_create's permission: what an administrator may change of an
encoder station, what every refusal leaves alone, and what disabling or enabling a station does
to the jobs on it (approval, a running job, waiting jobs, requeue_stale_jobs)."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection, transaction
from django.utils import timezone

from accounts.roles import Role
from audit.events import EventType
from audit.models import AuditEvent
from audit.selectors import audit_chain_verify
from cards.models import CardRequest
from cards.services.card_requests import card_request_approve, card_request_submit
from config.errors import Conflict, NotAllowed, ValidationFailed
from personalization.models import EncoderStation, PersonalizationJob
from personalization.runner.engine import Outcome, job_run
from personalization.services.jobs import jobs_requeue_stale
from personalization.services.stations import station_create, station_update
from tests.factories import ProfessionalFactory, make_user
from tests.personalization.jobs.cues import SimulatedCrash

pytestmark = pytest.mark.django_db

FIELDS = ("name", "transport", "reader_pattern", "description", "is_enabled")


def _row(station: EncoderStation) -> dict:
    return EncoderStation.objects.values(*FIELDS, "takes_approved_requests").get(pk=station.pk)


def _updates() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(event=EventType.STATION_UPDATED).order_by("sequence"))


def _ago(**delta) -> dt.datetime:
    return timezone.now() - dt.timedelta(**delta)


@pytest.fixture
def admin(users):
    return users[Role.ADMINISTRATOR]


@pytest.fixture
def desk(db):
    return station_create(
        name="desk-1", transport="pcsc", reader_pattern="Yubico YubiKey", description="Desk 1"
    )


def _approve(profiles, users) -> CardRequest:
    request = card_request_submit(
        professional=ProfessionalFactory(),
        profile=profiles["hpc-physician"],
        by=users[Role.ENROLMENT_OFFICER],
    )
    return card_request_approve(card_request=request, by=users[Role.APPROVING_OFFICER])


# --- what changes, and its one audit event ------------------------------------------------------


def test_an_administrator_changes_description_and_reader_in_one_audited_change(desk, admin):
    station = station_update(
        station=desk, by=admin, description="Front desk", reader_pattern="^Yubico.*CCID"
    )

    assert (station.description, station.reader_pattern) == ("Front desk", "^Yubico.*CCID")
    assert _row(desk)["reader_pattern"] == "^Yubico.*CCID"
    (event,) = _updates()
    assert (event.actor, event.object_id) == ("administrator", str(desk.pk))
    assert event.payload == {
        "name": "desk-1",
        "changed": {
            "description": {"from": "Desk 1", "to": "Front desk"},
            "reader_pattern": {"from": "Yubico YubiKey", "to": "^Yubico.*CCID"},
        },
    }
    assert audit_chain_verify().intact


def test_nothing_differing_changes_nothing_and_records_nothing(desk, admin):
    before = _row(desk)
    station_update(station=desk, by=admin)
    station_update(
        station=desk,
        by=admin,
        description="Desk 1",
        reader_pattern="Yubico YubiKey",
        is_enabled=True,
        takes_approved_requests=False,
    )
    assert _row(desk) == before
    assert _updates() == []


def test_the_service_reads_the_row_it_locks_not_the_callers_copy(desk, admin):
    stale = EncoderStation.objects.get(pk=desk.pk)
    station_update(station=desk, by=admin, description="changed elsewhere")

    station_update(station=stale, by=admin, description="changed elsewhere")

    assert len(_updates()) == 1  # the second call found nothing to change


# --- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"name": "desk-2"}, {"name"}),
        ({"name": "desk-1"}, {"name"}),  # fixed, even when unchanged
        ({"transport": "emulated"}, {"transport"}),
        ({"name": "x", "transport": "emulated", "reader_pattern": ""}, {"name", "transport"}),
        ({"busy_job": None}, {"busy_job"}),
        ({"reader_pattern": ""}, {"reader_pattern"}),
        ({"reader_pattern": "Yubico ("}, {"reader_pattern"}),
        ({"reader_pattern": "y" * 201}, {"reader_pattern"}),
        ({"description": "d" * 201}, {"description"}),
        ({"description": None}, {"description"}),
        ({"is_enabled": "no"}, {"is_enabled"}),
        ({"takes_approved_requests": 1}, {"takes_approved_requests"}),
        ({"is_enabled": False, "takes_approved_requests": True}, {"takes_approved_requests"}),
        (
            {"reader_pattern": "(", "is_enabled": False, "takes_approved_requests": True},
            {"reader_pattern", "takes_approved_requests"},
        ),
    ],
    ids=lambda value: ",".join(value) if isinstance(value, dict) else None,
)
def test_each_refusal_names_its_fields_and_changes_nothing(desk, admin, changes, fields):
    before = _row(desk)

    with pytest.raises(ValidationFailed) as refused:
        station_update(station=desk, by=admin, **changes)

    assert {error.field for error in refused.value.errors} == fields
    assert _row(desk) == before
    assert _updates() == []
    assert audit_chain_verify().intact


def test_the_name_is_refused_as_the_queue_its_worker_listens_on(desk, admin):
    with pytest.raises(ValidationFailed, match="name: cannot be changed: it is the queue"):
        station_update(station=desk, by=admin, name="desk-2")


def test_a_disabled_station_is_not_given_approved_requests(desk, admin):
    station_update(station=desk, by=admin, is_enabled=False)
    before = _row(desk)

    with pytest.raises(ValidationFailed, match="a disabled station takes no approved requests"):
        station_update(station=desk, by=admin, takes_approved_requests=True)

    assert _row(desk) == before
    assert len(_updates()) == 1


@pytest.mark.parametrize("role", [role for role in Role if role != Role.ADMINISTRATOR])
def test_only_administrators_change_stations(desk, role):
    before = _row(desk)
    with pytest.raises(NotAllowed, match="not allowed to change encoder stations"):
        station_update(station=desk, by=make_user(role), is_enabled=False)
    assert _row(desk) == before
    assert _updates() == []


@pytest.mark.parametrize(
    "by",
    [None, AnonymousUser(), "no role", "inactive administrator"],
    ids=["system", "anonymous", "no-role", "inactive-admin"],
)
def test_nobody_else_changes_stations_not_even_the_system(desk, by):
    if by == "no role":
        by = make_user(None)
    elif by == "inactive administrator":
        by = make_user(Role.ADMINISTRATOR, is_active=False)
    with pytest.raises(NotAllowed):
        station_update(station=desk, by=by, description="changed")
    assert _row(desk)["description"] == "Desk 1"
    assert _updates() == []


# --- station_create's permission --------------------------------------------------------------


@pytest.mark.parametrize("role", list(Role))
def test_only_administrators_add_stations(role):
    by = make_user(role)
    if role == Role.ADMINISTRATOR:
        assert station_create(name="desk-7", transport="emulated", by=by).queue == "station.desk-7"
        return
    with pytest.raises(NotAllowed, match="not allowed to add encoder stations"):
        station_create(name="desk-7", transport="emulated", by=by)
    assert not EncoderStation.objects.filter(name="desk-7").exists()
    assert not AuditEvent.objects.filter(event=EventType.STATION_CREATED).exists()


def test_a_signed_out_user_is_not_the_system(db):
    with pytest.raises(NotAllowed):
        station_create(name="desk-7", transport="emulated", by=AnonymousUser())
    assert not EncoderStation.objects.exists()


def test_the_system_adds_stations_recorded_without_a_user(db):
    station = station_create(name="desk-7", transport="emulated", by=None)
    event = AuditEvent.objects.get(event=EventType.STATION_CREATED)
    assert (event.actor, event.actor_user_id, event.object_id) == ("", None, str(station.pk))


# --- takes approved requests ------------------------------------------------------------------


def test_taking_approved_requests_moves_the_flag_from_the_other_station(station, desk, admin):
    assert station.takes_approved_requests  # bench-1, the jobs fixtures' station

    station_update(station=desk, by=admin, takes_approved_requests=True)

    flagged = list(EncoderStation.objects.filter(takes_approved_requests=True))
    assert [s.name for s in flagged] == ["desk-1"]
    (event,) = _updates()
    assert event.payload == {
        "name": "desk-1",
        "changed": {"takes_approved_requests": {"from": False, "to": True}},
        "takes_approved_requests_from": "bench-1",
    }


def test_taking_approved_requests_when_no_station_has_them(desk, admin):
    station_update(station=desk, by=admin, takes_approved_requests=True)
    assert _updates()[0].payload["takes_approved_requests_from"] is None


def test_approved_requests_go_to_the_station_that_took_them(station, desk, admin, profiles, users):
    emulated = station_create(name="desk-2", transport="emulated")
    station_update(station=emulated, by=admin, takes_approved_requests=True)

    request = _approve(profiles, users)

    assert PersonalizationJob.objects.get(card_request=request).station == emulated


# --- disabling and enabling -------------------------------------------------------------------


def test_disabling_the_auto_station_clears_its_flag_and_approval_queues_no_job(
    station, admin, profiles, users
):
    station_update(station=station, by=admin, is_enabled=False)

    assert _row(station)["takes_approved_requests"] is False
    assert _updates()[0].payload["changed"] == {
        "is_enabled": {"from": True, "to": False},
        "takes_approved_requests": {"from": True, "to": False},
    }
    request = _approve(profiles, users)
    assert request.status == CardRequest.Status.APPROVED
    assert not PersonalizationJob.objects.filter(card_request=request).exists()
    # Enabling it again does not give it the flag back: an administrator decides that.
    station_update(station=station, by=admin, is_enabled=True)
    assert _row(station)["takes_approved_requests"] is False


def test_a_job_running_on_a_station_disabled_meanwhile_finishes(approved, station, admin, cue):
    job = PersonalizationJob.objects.get(card_request=approved())
    cue("write_objects")
    with pytest.raises(SimulatedCrash):
        job_run(job_id=job.pk, worker="dies")
    job.refresh_from_db()
    assert (job.status, _row(station)["is_enabled"]) == ("running", True)

    station_update(station=station, by=admin, is_enabled=False)

    job.refresh_from_db()
    station.refresh_from_db()
    assert (job.status, station.busy_job_id, station.status) == ("running", job.pk, "disabled")
    PersonalizationJob.objects.filter(pk=job.pk).update(heartbeat_at=_ago(hours=1))
    assert job_run(job_id=job.pk, worker="resumes") is Outcome.DONE
    job.refresh_from_db()
    assert job.status == "done"
    assert job.card.status == "personalized"


def test_a_waiting_job_on_a_disabled_station_waits_until_it_is_enabled(
    approved, station, admin, settings, celery_messages, django_capture_on_commit_callbacks
):
    """requeue_stale_jobs does not send it again while the station is disabled, and a message
    that reaches the worker anyway (sent before the disabling) is given back untouched: the job
    stays waiting, with no card and no start in the trail. Enabling sends it."""
    settings.CARDFORGE_JOB_RESEND_SECONDS = 300
    job = PersonalizationJob.objects.get(card_request=approved())
    station_update(station=station, by=admin, is_enabled=False)
    PersonalizationJob.objects.filter(pk=job.pk).update(queued_at=_ago(seconds=301))

    assert jobs_requeue_stale() == []
    assert job_run(job_id=job.pk, worker="station-bench-1@host/1") is Outcome.STATION_DISABLED

    job.refresh_from_db()
    assert (job.status, job.card_id, job.lease_owner, job.started_at) == ("waiting", None, "", None)
    assert not AuditEvent.objects.filter(event=EventType.PERSONALIZATION_JOB_STARTED).exists()
    assert jobs_requeue_stale() == []

    with django_capture_on_commit_callbacks(execute=True):
        station_update(station=station, by=admin, is_enabled=True)

    # Enabling sends it at once, instead of after the next resend period.
    assert celery_messages == [job.pk]
    assert _updates()[-1].payload["waiting_jobs_sent"] == 1
    assert job_run(job_id=job.pk, worker="station-bench-1@host/2") is Outcome.DONE
    assert audit_chain_verify().intact


def test_enabling_sends_the_waiting_jobs_oldest_first(
    station, admin, profiles, users, celery_messages, django_capture_on_commit_callbacks
):
    first, second = (
        PersonalizationJob.objects.get(card_request=_approve(profiles, users)) for _ in range(2)
    )
    station_update(station=station, by=admin, is_enabled=False)
    with django_capture_on_commit_callbacks(execute=True):
        station_update(station=station, by=admin, is_enabled=True)
    assert celery_messages == [first.pk, second.pk]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_administrators_moving_the_flag_at_once_one_is_told_to_retry(station, users):
    """The second waits for the first's lock on bench-1, then finds desk-2 took the flag
    meanwhile: the constraint refuses it, and the service says so instead of failing."""
    admin = users[Role.ADMINISTRATOR]
    second_desk, third_desk = (
        station_create(name=name, transport="emulated") for name in ("desk-2", "desk-3")
    )
    first_holds_its_locks = threading.Event()
    outcome = {}

    def first() -> None:
        try:
            with transaction.atomic():
                station_update(station=second_desk, by=admin, takes_approved_requests=True)
                first_holds_its_locks.set()
                threading.Event().wait(0.5)
        finally:
            first_holds_its_locks.set()
            connection.close()

    def second() -> None:
        first_holds_its_locks.wait(10)
        try:
            station_update(station=third_desk, by=admin, takes_approved_requests=True)
        except Conflict as error:
            outcome["second"] = error.code
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert outcome == {"second": "station_conflict"}
    assert list(
        EncoderStation.objects.filter(takes_approved_requests=True).values_list("name", flat=True)
    ) == ["desk-2"]
    assert len(_updates()) == 1
    assert audit_chain_verify().intact
