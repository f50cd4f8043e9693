"""Changing encoder stations: PATCH /api/v1/stations/{id}/, and the back office's Edit page and
Enable/Disable buttons, as each role sees them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from audit.events import EventType
from audit.models import AuditEvent
from audit.selectors import audit_chain_verify
from personalization.models import EncoderStation, PersonalizationJob
from personalization.runner.engine import Outcome, job_run
from personalization.services.jobs import jobs_requeue_stale
from personalization.services.stations import station_create
from tests.factories import make_user, sign_in_verified
from tests.personalization.jobs import conftest as jobs_fixtures
from tests.personalization.ui.conftest import job_of

pytestmark = pytest.mark.django_db

celery_messages = jobs_fixtures.celery_messages

READ_ONLY_ROLES = [role for role in Role if role != Role.ADMINISTRATOR]


@pytest.fixture
def desk(db):
    return station_create(
        name="desk-1", transport="pcsc", reader_pattern="Yubico YubiKey", description="Desk 1"
    )


@pytest.fixture
def admin_api(api, users):
    return api.as_user(users[Role.ADMINISTRATOR])


def _updates() -> int:
    return AuditEvent.objects.filter(event=EventType.STATION_UPDATED).count()


def _row(station) -> dict:
    return EncoderStation.objects.values().get(pk=station.pk)


def _page(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def _running(job: PersonalizationJob, station: EncoderStation) -> None:
    """As a station's worker leaves things in the middle of a card."""
    PersonalizationJob.objects.filter(pk=job.pk).update(
        status="running", current_step="generate_9c", started_at=timezone.now()
    )
    EncoderStation.objects.filter(pk=station.pk).update(
        busy_job=job, heartbeat_at=timezone.now(), worker="station-bench-1@host"
    )


# --- API --------------------------------------------------------------------------------------


def test_patch_changes_what_is_sent_and_answers_the_station(admin_api, desk):
    response = admin_api.patch(
        f"/api/v1/stations/{desk.pk}/",
        {"description": "Front desk", "reader_pattern": "^Yubico"},
        format="json",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["name"], body["description"], body["reader_pattern"]) == (
        "desk-1",
        "Front desk",
        "^Yubico",
    )
    assert (body["enabled"], body["queue"], body["status"]) == (True, "station.desk-1", "offline")
    assert _updates() == 1


def test_patch_disables_and_enables_a_station(admin_api, station, waiting):
    job = job_of(waiting())
    _running(job, station)
    url = f"/api/v1/stations/{station.pk}/"

    body = admin_api.patch(url, {"enabled": False}, format="json").json()

    assert (body["enabled"], body["status"], body["takes_approved_requests"]) == (
        False,
        "disabled",
        False,
    )
    assert body["current_job"]["id"] == job.pk  # the job it is running goes on
    body = admin_api.patch(url, {"enabled": True}, format="json").json()
    assert (body["enabled"], body["takes_approved_requests"]) == (True, False)


def test_patch_moves_takes_approved_requests(admin_api, station, desk):
    response = admin_api.patch(
        f"/api/v1/stations/{desk.pk}/", {"takes_approved_requests": True}, format="json"
    )
    assert response.json()["takes_approved_requests"] is True
    assert admin_api.get(f"/api/v1/stations/{station.pk}/").json()["takes_approved_requests"] is (
        False
    )


def test_an_empty_patch_changes_nothing(admin_api, desk):
    response = admin_api.patch(f"/api/v1/stations/{desk.pk}/", {}, format="json")
    assert response.status_code == 200
    assert _updates() == 0


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        ({"name": "desk-2"}, ["name"]),
        ({"name": "desk-1", "description": "renamed?"}, ["name"]),
        ({"transport": "emulated"}, ["transport"]),
        ({"name": "desk-2", "transport": "emulated"}, ["name", "transport"]),
        ({"reader_pattern": ""}, ["reader_pattern"]),
        ({"reader_pattern": "Yubico ("}, ["reader_pattern"]),
        ({"description": "d" * 201}, ["description"]),
        ({"enabled": "maybe"}, ["enabled"]),
        ({"enabled": False, "takes_approved_requests": True}, ["takes_approved_requests"]),
        ({"status": "idle"}, ["status"]),  # read-only: refused, not ignored
        ({"is_enabled": False}, ["is_enabled"]),  # the API's field is "enabled"
        ({"descripton": "typo"}, ["descripton"]),
    ],
    ids=lambda value: ",".join(value) if isinstance(value, dict) else None,
)
def test_a_refused_patch_answers_400_naming_the_field_and_changes_nothing(
    admin_api, desk, data, fields
):
    before = _row(desk)

    response = admin_api.patch(f"/api/v1/stations/{desk.pk}/", data, format="json")

    assert response.status_code == 400, response.content
    body = response.json()
    assert set(body) == {"code", "message", "errors"}
    assert body["code"] == "validation_error"
    assert [error["field"] for error in body["errors"]] == fields
    assert body["message"].startswith(f"{fields[0]}: ")
    assert _row(desk) == before
    assert _updates() == 0


def test_the_name_refusal_says_why(admin_api, desk):
    body = admin_api.patch(f"/api/v1/stations/{desk.pk}/", {"name": "x"}, format="json").json()
    assert body["errors"] == [
        {
            "field": "name",
            "message": "cannot be changed: it is the queue its worker listens on; "
            "add a new station instead",
        }
    ]


def test_patch_on_a_missing_station_is_404(admin_api):
    response = admin_api.patch("/api/v1/stations/999999/", {"enabled": False}, format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize("role", READ_ONLY_ROLES, ids=lambda role: role.slug)
def test_only_administrators_patch_stations(api, desk, role):
    before = _row(desk)
    response = api.as_user(make_user(role)).patch(
        f"/api/v1/stations/{desk.pk}/", {"enabled": False}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert _row(desk) == before


# --- back office: who sees what ---------------------------------------------------------------


def test_administrators_see_edit_and_disable_or_enable_for_each_station(web, users, station, desk):
    EncoderStation.objects.filter(pk=desk.pk).update(is_enabled=False)
    sign_in_verified(web, users[Role.ADMINISTRATOR])

    page = _page(web.get(reverse("station-list")))

    assert f'href="{reverse("station-edit", args=[station.pk])}"' in page
    assert f'href="{reverse("station-edit", args=[desk.pk])}"' in page
    assert f'action="{reverse("station-disable", args=[station.pk])}"' in page
    assert f'action="{reverse("station-enable", args=[desk.pk])}"' in page
    assert f'action="{reverse("station-enable", args=[station.pk])}"' not in page
    assert page.count('name="csrfmiddlewaretoken"') >= 2


@pytest.mark.parametrize("role", READ_ONLY_ROLES, ids=lambda role: role.slug)
def test_other_roles_see_neither_and_are_refused(web, station, role):
    sign_in_verified(web, make_user(role))

    page = _page(web.get(reverse("station-list")))

    assert "bench-1" in page
    assert reverse("station-edit", args=[station.pk]) not in page
    assert reverse("station-disable", args=[station.pk]) not in page
    assert ">Edit<" not in page
    assert ">Disable<" not in page
    assert web.get(reverse("station-edit", args=[station.pk])).status_code == 403
    assert web.post(reverse("station-edit", args=[station.pk]), {}).status_code == 403
    assert web.post(reverse("station-disable", args=[station.pk])).status_code == 403
    assert web.post(reverse("station-enable", args=[station.pk])).status_code == 403
    assert _row(station)["is_enabled"] is True
    assert _updates() == 0


def test_enable_and_disable_are_posts_only(web, users, station):
    sign_in_verified(web, users[Role.ADMINISTRATOR])
    assert web.get(reverse("station-disable", args=[station.pk])).status_code == 405
    assert web.get(reverse("station-enable", args=[station.pk])).status_code == 405
    assert _row(station)["is_enabled"] is True


# --- back office: the edit page ---------------------------------------------------------------


def test_the_edit_page_shows_name_and_transport_read_only(web, users, desk):
    sign_in_verified(web, users[Role.ADMINISTRATOR])

    page = _page(web.get(reverse("station-edit", args=[desk.pk])))

    assert "Edit encoder station desk-1" in page
    assert '<dd class="mono">desk-1</dd>' in page
    assert "<dd>PC/SC reader</dd>" in page
    assert 'name="name"' not in page
    assert 'name="transport"' not in page
    assert 'value="Yubico YubiKey"' in page
    assert 'value="Desk 1"' in page
    assert 'id="id_is_enabled" checked>' in page
    assert 'id="id_takes_approved_requests">' in page  # not checked


def test_saving_the_edit_page_changes_what_differs(web, users, desk):
    sign_in_verified(web, users[Role.ADMINISTRATOR])
    form = {"description": "Front desk", "reader_pattern": "Yubico YubiKey", "is_enabled": "on"}

    response = web.post(reverse("station-edit", args=[desk.pk]), form, follow=True)

    assert response.redirect_chain[-1][0] == reverse("station-list")
    assert "Station desk-1: description saved." in _page(response)
    event = AuditEvent.objects.get(event=EventType.STATION_UPDATED)
    assert event.payload["changed"] == {"description": {"from": "Desk 1", "to": "Front desk"}}
    page = _page(web.post(reverse("station-edit", args=[desk.pk]), form, follow=True))
    assert "Nothing changed on station desk-1." in page
    assert _updates() == 1


def test_the_edit_page_shows_each_refusal_on_its_field(web, users, desk):
    sign_in_verified(web, users[Role.ADMINISTRATOR])
    before = _row(desk)

    page = _page(
        web.post(
            reverse("station-edit", args=[desk.pk]),
            {"description": "Desk 1", "reader_pattern": "", "takes_approved_requests": "on"},
        )
    )

    assert 'id="id_reader_pattern-errors"' in page
    assert "a PC/SC station needs a reader name" in page
    assert 'id="id_takes_approved_requests-errors"' in page
    assert "a disabled station takes no approved requests" in page
    assert _row(desk) == before
    assert _updates() == 0


def test_the_edit_page_moves_approved_requests_here(web, users, station, desk):
    sign_in_verified(web, users[Role.ADMINISTRATOR])
    form = {
        "description": "Desk 1",
        "reader_pattern": "Yubico YubiKey",
        "is_enabled": "on",
        "takes_approved_requests": "on",
    }

    page = _page(web.post(reverse("station-edit", args=[desk.pk]), form, follow=True))

    assert "Approved requests are now queued on desk-1 (no longer on bench-1)." in page
    assert list(
        EncoderStation.objects.filter(takes_approved_requests=True).values_list("name", flat=True)
    ) == ["desk-1"]


# --- back office: disable and enable ----------------------------------------------------------


def test_disabling_a_busy_station_lets_its_job_finish_and_says_so(web, users, station, waiting):
    running, queued = job_of(waiting()), job_of(waiting())
    _running(running, station)
    sign_in_verified(web, users[Role.ADMINISTRATOR])

    page = _page(web.post(reverse("station-disable", args=[station.pk]), follow=True))

    assert (
        "Station bench-1 is disabled: it takes no new jobs; the job it is running finishes; "
        "its 1 waiting job(s) wait until it is enabled again." in page
    )
    assert "Approved requests are no longer queued on a station automatically" in page
    assert '<span class="badge disabled">disabled</span>' in page
    # The running job is still shown as the station's, untouched.
    assert f'href="{reverse("job-detail", args=[running.pk])}"' in page
    running.refresh_from_db()
    queued.refresh_from_db()
    assert (running.status, queued.status) == ("running", "waiting")
    assert _row(station)["busy_job_id"] == running.pk
    assert f'action="{reverse("station-enable", args=[station.pk])}"' in page

    page = _page(web.post(reverse("station-disable", args=[station.pk]), follow=True))
    assert "Station bench-1 was already disabled." in page
    assert _updates() == 1
    assert audit_chain_verify().intact


def test_disabling_an_idle_station(web, users, desk):
    sign_in_verified(web, users[Role.ADMINISTRATOR])
    page = _page(web.post(reverse("station-disable", args=[desk.pk]), follow=True))
    assert "Station desk-1 is disabled: it takes no new jobs." in page
    assert "it takes no new jobs; the job" not in page


def test_what_an_operator_sees_of_a_job_waiting_on_a_disabled_station(
    web, users, approved, station, settings, celery_messages, django_capture_on_commit_callbacks
):
    settings.CARDFORGE_JOB_RESEND_SECONDS = 300
    job = job_of(approved())
    sign_in_verified(web, users[Role.ADMINISTRATOR])
    web.post(reverse("station-disable", args=[station.pk]))
    # Five minutes on: requeue_stale_jobs leaves it alone; the message sent before the station
    # was disabled reaches the worker, which gives the job back.
    PersonalizationJob.objects.filter(pk=job.pk).update(
        queued_at=timezone.now() - dt.timedelta(seconds=301)
    )
    assert jobs_requeue_stale() == []
    assert job_run(job_id=job.pk, worker="station-bench-1@host/1") is Outcome.STATION_DISABLED

    sign_in_verified(web, users[Role.ENCODING_OPERATOR])
    page = _page(web.get(reverse("station-list")))
    assert '<span class="badge disabled">disabled</span>' in page
    assert f"{reverse('job-list')}?station=bench-1&amp;status=waiting" in page
    page = _page(web.get(reverse("job-detail", args=[job.pk])))
    assert '<span class="badge waiting" id="job-status" data-job-status>Waiting</span>' in page
    assert "Cancel this job" in page  # or cancel it, and queue the request elsewhere
    assert web.get(reverse("job-progress", args=[job.pk])).json()["done"] == 0

    sign_in_verified(web, users[Role.ADMINISTRATOR])
    with django_capture_on_commit_callbacks(execute=True):
        response = web.post(reverse("station-enable", args=[station.pk]), follow=True)
    page = _page(response)
    assert "Station bench-1 is enabled: it takes jobs again." in page
    assert "Its 1 waiting job(s) are sent to queue station.bench-1." in page
    assert "Its worker is not running: python manage.py run_station bench-1" in page
    assert celery_messages == [job.pk]
    assert job_run(job_id=job.pk, worker="station-bench-1@host/2") is Outcome.DONE


# --- Django admin -----------------------------------------------------------------------------


def test_the_django_admin_lists_stations_read_only_and_links_to_the_edit_page(web, users, desk):
    administrator = users[Role.ADMINISTRATOR]
    administrator.is_staff = True
    administrator.save()
    sign_in_verified(web, administrator)

    page = _page(web.get("/admin/personalization/encoderstation/"))

    assert "desk-1" in page
    assert f'href="{reverse("station-edit", args=[desk.pk])}"' in page
    assert "/admin/personalization/encoderstation/add/" not in page
    change = f"/admin/personalization/encoderstation/{desk.pk}/change/"
    assert web.post(change, {"name": "desk-2", "is_enabled": ""}).status_code == 403
    assert _row(desk)["is_enabled"] is True
