"""Abandoning a stalled job from the job page and through POST /api/v1/jobs/{id}/abandon/: who
sees the form and when, errors on the form or in the API's one error shape, and what the
operator sees afterwards (card failed, certificates revoked, retry offered)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from accounts.roles import Role
from personalization.models import EncoderStation, PersonalizationJob
from personalization.runner.engine import Outcome, job_run
from pki.models import Certificate
from tests.factories import sign_in_verified
from tests.personalization.jobs.conftest import age_heartbeat
from tests.personalization.ui.conftest import job_of

pytestmark = pytest.mark.django_db

REASON = "station desk-3 decommissioned; its reader was destroyed"
SHOWN = '<section class="panel" id="abandon-job" data-job-when-stalled>'
HIDDEN = '<section class="panel" id="abandon-job" data-job-when-stalled hidden>'


def _page(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def _running(job: PersonalizationJob, *, silent_for: float) -> PersonalizationJob:
    """A running job (no card yet, no PKI needed) whose worker last reported `silent_for` s ago,
    holding its station."""
    PersonalizationJob.objects.filter(pk=job.pk).update(
        status="running", lease_owner="worker-1", current_step="identify_card"
    )
    EncoderStation.objects.filter(pk=job.station_id).update(busy_job=job)
    age_heartbeat(job, seconds=silent_for)
    job.refresh_from_db()
    return job


def _unchanged(job: PersonalizationJob):
    before = PersonalizationJob.objects.values().get(pk=job.pk)
    return lambda: PersonalizationJob.objects.values().get(pk=job.pk) == before


# -- the job page ------------------------------------------------------------------------------


def test_the_form_shows_to_operators_only_while_the_job_is_stalled(web, users, waiting):
    operator = users[Role.ENCODING_OPERATOR]
    job = job_of(waiting())
    sign_in_verified(web, operator)

    # Waiting, or running with a worker that reports: there, hidden (the live page shows it
    # once the job stalls, see the progress JSON below).
    assert HIDDEN in _page(web.get(reverse("job-detail", args=[job.pk])))
    _running(job, silent_for=5)
    assert HIDDEN in _page(web.get(reverse("job-detail", args=[job.pk])))
    assert web.get(reverse("job-progress", args=[job.pk])).json()["stalled"] is False

    _running(job, silent_for=3600)
    page = _page(web.get(reverse("job-detail", args=[job.pk])))
    assert SHOWN in page
    assert f'action="{reverse("job-abandon", args=[job.pk])}"' in page
    assert '<textarea name="reason"' in page
    assert 'maxlength="500"' in page
    assert "required" in page.split('<textarea name="reason"')[1].split(">")[0]
    assert "Abandon this job</button>" in page
    assert (
        "every certificate issued for that card is revoked (cessationOfOperation); "
        "station bench-1 is freed. Request #"
    ) in page
    assert "retry the job, or queue the request on another station, to make a new card" in page
    assert web.get(reverse("job-progress", args=[job.pk])).json()["stalled"] is True

    # Roles without the permission never see it, stalled or not.
    for role in (Role.AUDITOR, Role.ENROLMENT_OFFICER, Role.APPROVING_OFFICER):
        sign_in_verified(web, users[role])
        assert 'id="abandon-job"' not in _page(web.get(reverse("job-detail", args=[job.pk])))

    # A job that has ended can never be abandoned: no form at all.
    sign_in_verified(web, users[Role.ADMINISTRATOR])
    assert SHOWN in _page(web.get(reverse("job-detail", args=[job.pk])))
    PersonalizationJob.objects.filter(pk=job.pk).update(status="failed")
    assert 'id="abandon-job"' not in _page(web.get(reverse("job-detail", args=[job.pk])))


def test_abandon_from_the_job_page(web, users, stalled, station):
    job = stalled()
    card = job.card
    sign_in_verified(web, users[Role.ENCODING_OPERATOR])
    response = web.post(reverse("job-abandon", args=[job.pk]), {"reason": REASON}, follow=True)
    assert response.redirect_chain == [(reverse("job-detail", args=[job.pk]), 302)]
    page = _page(response)
    assert (
        f"Job #{job.pk} is abandoned: card {card.serial} failed and its certificates are "
        f"revoked; station bench-1 is free. Request #{job.card_request_id} stays approved: "
        "retry the job, or queue the request on another station, to make a new card."
    ) in page
    assert '<span class="badge failed" id="job-status" data-job-status>Failed</span>' in page
    assert REASON in page  # the job's error message
    assert '<dd class="mono">abandoned</dd>' in page
    assert 'id="abandon-job"' not in page
    retry = page.split(f'action="{reverse("job-retry", args=[job.pk])}"')[1].split(">")[0]
    assert 'data-job-when="failed"' in retry
    assert "hidden" not in retry

    station.refresh_from_db()
    assert station.busy_job_id is None
    # The request may be queued again, on any station.
    request_page = _page(web.get(reverse("card-request-detail", args=[job.card_request_id])))
    assert "Approved: ready to be queued on an encoder station." in request_page
    assert f'action="{reverse("card-request-queue", args=[job.card_request_id])}"' in request_page
    card_page = _page(web.get(reverse("card-detail", args=[card.pk])))
    assert '<span class="badge failed" id="card-status">' in card_page
    assert card_page.count('<span class="badge revoked">') == 4


@pytest.mark.parametrize(
    ("reason", "error"),
    [
        ("", "This field is required."),
        ("   ", "This field is required."),
        ("x" * 501, "Ensure this value has at most 500 characters (it has 501)."),
    ],
    ids=["empty", "blank", "too-long"],
)
def test_a_bad_reason_is_shown_on_the_form_and_changes_nothing(web, users, waiting, reason, error):
    job = _running(job_of(waiting()), silent_for=3600)
    unchanged = _unchanged(job)
    sign_in_verified(web, users[Role.ENCODING_OPERATOR])
    page = _page(web.post(reverse("job-abandon", args=[job.pk]), {"reason": reason}))
    assert SHOWN in page
    assert f'<ul class="errorlist" id="id_reason-errors"><li>{error}</li></ul>' in page
    assert unchanged()
    assert EncoderStation.objects.get(pk=job.station_id).busy_job_id == job.pk


def test_a_job_whose_worker_came_back_is_not_abandoned(web, users, waiting):
    job = _running(job_of(waiting()), silent_for=3600)
    sign_in_verified(web, users[Role.ENCODING_OPERATOR])
    assert SHOWN in _page(web.get(reverse("job-detail", args=[job.pk])))
    # Meanwhile the station's worker resumed the job.
    PersonalizationJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now())
    unchanged = _unchanged(job)

    page = _page(web.post(reverse("job-abandon", args=[job.pk]), {"reason": REASON}))
    assert "worker is still reporting: its last heartbeat was 0 s ago" in page
    assert HIDDEN in page
    assert unchanged()


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.ENROLMENT_OFFICER], ids=lambda r: r.slug)
def test_roles_without_the_permission_are_refused(web, users, waiting, role):
    job = _running(job_of(waiting()), silent_for=3600)
    unchanged = _unchanged(job)
    sign_in_verified(web, users[role])
    assert web.post(reverse("job-abandon", args=[job.pk]), {"reason": REASON}).status_code == 403
    assert unchanged()


# -- the API -----------------------------------------------------------------------------------


@pytest.fixture
def operator(api, users):
    return api.as_user(users[Role.ENCODING_OPERATOR])


def _abandon(client, job_id: int, data: dict | None = None):
    return client.post(
        f"/api/v1/jobs/{job_id}/abandon/",
        {"reason": REASON} if data is None else data,
        format="json",
    )


def _error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content[:500]
    body = response.json()
    assert set(body) == {"code", "message", "errors"}
    assert body["code"] == code
    return body


def test_api_abandons_a_stalled_job_then_retries_it(operator, stalled):
    job = stalled()
    card = job.card
    body = operator.get(f"/api/v1/jobs/{job.pk}/").json()
    assert (body["status"], body["stalled"]) == ("running", True)
    assert body["heartbeat_at"] is not None
    response = _abandon(operator, job.pk)
    assert response.status_code == 200, response.content[:500]
    body = response.json()
    assert (body["status"], body["error_code"], body["error_message"]) == (
        "failed",
        "abandoned",
        REASON,
    )
    assert body["card"] == {"id": card.pk, "serial": card.serial, "status": "failed"}
    assert body["finished_at"] is not None
    assert {s["state"] for s in body["steps"] if s["name"] == "write_objects"} == {"failed"}
    assert set(Certificate.objects.for_card(card).values_list("status", flat=True)) == {"revoked"}
    assert operator.get(f"/api/v1/stations/{job.station_id}/").json()["current_job"] is None

    again = _error(_abandon(operator, job.pk), 409, "not_running")
    assert again["message"] == (
        f"only a stalled running job can be abandoned; job #{job.pk} is failed"
    )
    assert operator.get(f"/api/v1/jobs/{job.pk}/").json()["stalled"] is False

    response = operator.post(f"/api/v1/jobs/{job.pk}/retry/")
    assert response.status_code == 202
    assert (response.json()["attempt"], response.json()["card"]) == (2, None)
    assert job_run(job_id=job.pk, worker="new-station") is Outcome.DONE
    body = operator.get(f"/api/v1/jobs/{job.pk}/").json()
    assert body["status"] == "done"
    assert body["card"]["serial"] != card.serial


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "reason: This field is required."),
        ({"reason": "  "}, "reason: This field may not be blank."),
        ({"reason": "x" * 501}, "reason: Ensure this field has no more than 500 characters."),
    ],
    ids=["missing", "blank", "too-long"],
)
def test_api_refuses_a_bad_reason(operator, waiting, data, message):
    job = _running(job_of(waiting()), silent_for=3600)
    unchanged = _unchanged(job)
    body = _error(_abandon(operator, job.pk, data), 400, "validation_error")
    assert body["message"] == message
    assert [e["field"] for e in body["errors"]] == ["reason"]
    assert unchanged()


def test_api_refuses_jobs_that_are_not_stalled(operator, waiting):
    job = job_of(waiting())
    body = _error(_abandon(operator, job.pk), 409, "not_started")
    assert "cancel it instead" in body["message"]

    job = _running(job, silent_for=10)
    assert operator.get(f"/api/v1/jobs/{job.pk}/").json()["stalled"] is False
    unchanged = _unchanged(job)
    body = _error(_abandon(operator, job.pk), 409, "worker_alive")
    assert "worker is still reporting: its last heartbeat was 10 s ago" in body["message"]
    assert body["errors"] == []
    assert unchanged()

    _error(_abandon(operator, 999999), 404, "not_found")


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.ENROLMENT_OFFICER], ids=lambda r: r.slug)
def test_api_refuses_roles_without_the_permission(api, users, waiting, role):
    job = _running(job_of(waiting()), silent_for=3600)
    unchanged = _unchanged(job)
    _error(_abandon(api.as_user(users[role]), job.pk), 403, "permission_denied")
    _error(_abandon(api.as_user(None), job.pk), 401, "not_authenticated")
    assert unchanged()


def test_the_schema_documents_the_endpoint():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation = schema["paths"]["/api/v1/jobs/{id}/abandon/"]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    component = schema["components"]["schemas"][body.rsplit("/", 1)[1]]
    assert component["required"] == ["reason"]
    assert component["properties"]["reason"]["maxLength"] == 500
    assert "200" in operation["responses"]
