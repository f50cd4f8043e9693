"""Abandoning a stalled job through POST /api/v1/jobs/{id}/abandon/: who may, errors in the
API's one error shape, and what the operator sees afterwards (card failed, certificates
revoked, retry offered)."""

from __future__ import annotations

import pytest
from drf_spectacular.generators import SchemaGenerator

from accounts.roles import Role
from personalization.models import EncoderStation, PersonalizationJob
from personalization.runner.engine import Outcome, job_run
from pki.models import Certificate
from tests.personalization.jobs.conftest import age_heartbeat
from tests.personalization.ui.conftest import job_of

pytestmark = pytest.mark.django_db

REASON = "station desk-3 decommissioned; its reader was destroyed"


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
