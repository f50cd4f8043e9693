"""/api/v1/jobs/, /api/v1/batches/, /api/v1/card-requests/approve/ and /api/v1/stations/:
progress by step, queueing one or many, retry and cancel rules, station status."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone

from accounts.roles import Role
from cards.models import CardRequest
from cards.services.secrets import pin_mailer_secrets
from personalization.models import EncoderStation, PersonalizationJob
from personalization.runner import steps as runner_steps
from personalization.runner.engine import Outcome, job_run, step_names
from pki.models import Certificate
from tests.personalization.ui.conftest import job_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(api, users):
    return api.as_user(users[Role.ENCODING_OPERATOR])


def test_a_waiting_job_shows_every_planned_step_pending(operator, waiting):
    job = job_of(waiting())
    body = operator.get(f"/api/v1/jobs/{job.pk}/").json()
    assert body["status"] == "waiting"
    assert body["progress"] == {"done": 0, "total": len(step_names(job))}
    assert [s["name"] for s in body["steps"]] == step_names(job)
    assert {s["state"] for s in body["steps"]} == {"pending"}
    assert body["card"] is None
    assert body["station"] == "bench-1"


def test_a_running_job_shows_its_current_step(operator, waiting):
    job = job_of(waiting())
    PersonalizationJob.objects.filter(pk=job.pk).update(
        status="running", current_step="identify_card"
    )
    body = operator.get(f"/api/v1/jobs/{job.pk}/").json()
    assert body["steps"][0]["state"] == "current"
    assert body["steps"][0]["label"] == "Identify the card"
    assert body["current_step"] == "identify_card"


def test_a_done_job_shows_every_step_done_without_a_secret(operator, approved):
    request = approved()
    job = job_of(request)
    assert job_run(job_id=job.pk, worker="test") is Outcome.DONE
    job.refresh_from_db()
    pin, puk = pin_mailer_secrets(job.card.pin_mailer)

    response = operator.get(f"/api/v1/jobs/{job.pk}/")
    body = response.json()
    assert body["status"] == "done"
    assert body["status_label"] == "Personalized"
    assert body["progress"]["done"] == body["progress"]["total"] == len(step_names(job))
    assert {s["state"] for s in body["steps"]} == {"done"}
    assert body["card"]["serial"] == job.card.serial
    steps = {s["name"]: s for s in body["steps"]}
    assert "BEGIN PUBLIC KEY" in steps["generate_9c"]["detail"]["public_key"]
    assert steps["quality_check"]["apdus"] > 0
    assert steps["issue_certificates"]["detail"]["serials"].keys() == {"9A", "9C", "9D", "9E"}

    # PIN and PUK appear in no API answer (only in the PIN mailer PDF).
    answers = [
        response,
        operator.get("/api/v1/jobs/"),
        operator.get(f"/api/v1/cards/{job.card.pk}/"),
        operator.get("/api/v1/cards/"),
        operator.get("/api/v1/stations/"),
    ]
    for answer in answers:
        text = json.dumps(answer.json())
        for secret in (pin.reveal().decode(), puk.reveal().decode()):
            assert f'"{secret}"' not in text
            assert f": {secret}" not in text


def test_job_list_filters(operator, waiting, users):
    first, second = job_of(waiting()), job_of(waiting())
    PersonalizationJob.objects.filter(pk=second.pk).update(status="failed")
    assert [j["id"] for j in operator.get("/api/v1/jobs/?status=failed").json()["results"]] == [
        second.pk
    ]
    listed = operator.get("/api/v1/jobs/?station=bench-1").json()["results"]
    assert [j["id"] for j in listed] == [second.pk, first.pk]  # newest first
    assert listed[1]["progress"] == {"done": 0, "total": len(step_names(first))}

    response = operator.get("/api/v1/jobs/?status=lost&station=nowhere")
    assert response.status_code == 400
    assert {e["field"] for e in response.json()["errors"]} == {"status", "station"}
    assert operator.get("/api/v1/jobs/?batch=x").status_code == 400


def test_queue_an_approved_request_on_a_chosen_station(operator, approved_unqueued, submitted):
    EncoderStation.objects.create(name="desk-2", transport="emulated")
    request = approved_unqueued()

    response = operator.post(
        "/api/v1/jobs/", {"card_request": request.pk, "station": "desk-2"}, format="json"
    )
    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["status"], body["station"], body["card_request"]["id"]) == (
        "waiting",
        "desk-2",
        request.pk,
    )
    assert body["created_by"] == "encoding-operator"

    again = operator.post(
        "/api/v1/jobs/", {"card_request": request.pk, "station": "desk-2"}, format="json"
    )
    assert again.status_code == 409
    assert again.json()["code"] == "job_exists"

    pending = submitted()
    refused = operator.post(
        "/api/v1/jobs/", {"card_request": pending.pk, "station": "desk-2"}, format="json"
    )
    assert refused.status_code == 409
    assert refused.json()["code"] == "not_approved"

    unknown = operator.post(
        "/api/v1/jobs/", {"card_request": 999999, "station": "nowhere"}, format="json"
    )
    assert unknown.status_code == 400
    assert unknown.json()["errors"][0]["field"] == "card_request"


def test_queue_many_as_a_batch_all_or_nothing(operator, approved_unqueued, submitted):
    ready = [approved_unqueued(), approved_unqueued()]
    pending = submitted()
    url = "/api/v1/jobs/batch/"

    refused = operator.post(
        url, {"card_requests": [r.pk for r in [*ready, pending]], "station": "bench-1"}, "json"
    )
    assert refused.status_code == 409
    assert f"request #{pending.pk}" in refused.json()["message"]
    assert not PersonalizationJob.objects.filter(card_request__in=ready).active().exists()

    response = operator.post(
        url,
        {"card_requests": [r.pk for r in ready], "station": "bench-1", "name": "Monday"},
        format="json",
    )
    assert response.status_code == 202, response.content
    batch = response.json()
    assert (batch["name"], batch["total"], batch["waiting"], batch["done"]) == ("Monday", 2, 2, 0)
    assert {j["card_request"]["id"] for j in batch["jobs"]} == {r.pk for r in ready}

    detail = operator.get(f"/api/v1/batches/{batch['id']}/").json()
    assert detail["waiting"] == 2
    assert operator.get("/api/v1/batches/").json()["results"][0]["id"] == batch["id"]
    assert [
        j["batch"] for j in operator.get(f"/api/v1/jobs/?batch={batch['id']}").json()["results"]
    ] == [batch["id"], batch["id"]]

    empty = operator.post(url, {"card_requests": [], "station": "bench-1"}, format="json")
    assert empty.status_code == 400


def test_approve_many_through_the_api(api, users, submitted, station):
    approver = api.as_user(users[Role.APPROVING_OFFICER])
    requests = [submitted(), submitted()]
    response = approver.post(
        "/api/v1/card-requests/approve/",
        {"card_requests": [r.pk for r in requests], "reason": "checked"},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["approved"] == [r.pk for r in requests]
    assert body["batch"]["total"] == body["batch"]["waiting"] == 2

    admin = api.as_user(users[Role.ADMINISTRATOR])
    own = submitted(by=users[Role.ADMINISTRATOR])
    other = submitted()
    refused = admin.post(
        "/api/v1/card-requests/approve/",
        {"card_requests": [other.pk, own.pk, requests[0].pk]},
        format="json",
    )
    assert refused.status_code == 400
    error = refused.json()
    assert error["code"] == "batch_rejected"
    assert [e["message"].split(":")[0] for e in error["errors"]] == [
        f"request #{own.pk}",
        f"request #{requests[0].pk}",
    ]
    other.refresh_from_db()
    assert other.status == CardRequest.Status.SUBMITTED


def test_cancel_only_a_waiting_job(operator, waiting):
    request = waiting()
    job = job_of(request)
    response = operator.post(f"/api/v1/jobs/{job.pk}/cancel/")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    request.refresh_from_db()
    assert request.status == CardRequest.Status.APPROVED  # ready to be queued again

    again = operator.post(f"/api/v1/jobs/{job.pk}/cancel/")
    assert again.status_code == 409
    assert again.json()["code"] == "not_waiting"

    running = job_of(waiting())
    PersonalizationJob.objects.filter(pk=running.pk).update(status="running")
    assert operator.post(f"/api/v1/jobs/{running.pk}/cancel/").json()["code"] == "not_waiting"
    assert operator.post(f"/api/v1/jobs/{running.pk}/retry/").json()["code"] == "not_failed"


def test_retry_a_failed_job_on_a_new_card(operator, approved, monkeypatch):
    job = job_of(approved())

    def broken_quality_check(ctx):
        raise runner_steps.QualityCheckFailed("the certificate in slot 9C did not read back")

    monkeypatch.setattr(runner_steps, "quality_check", broken_quality_check)
    assert job_run(job_id=job.pk, worker="test") is Outcome.FAILED
    job.refresh_from_db()
    failed_card = job.card

    body = operator.get(f"/api/v1/jobs/{job.pk}/").json()
    assert body["status"] == "failed"
    assert body["error_message"] == "the certificate in slot 9C did not read back"
    states = {s["name"]: s["state"] for s in body["steps"]}
    assert states["quality_check"] == "failed"
    assert states["rotate_management_key"] == "done"
    assert states["finish"] == "pending"
    # The failed card's certificates are revoked, not left valid.
    assert {c.status for c in Certificate.objects.for_card(failed_card)} == {"revoked"}

    response = operator.post(f"/api/v1/jobs/{job.pk}/retry/")
    assert response.status_code == 202
    body = response.json()
    assert (body["status"], body["attempt"], body["card"]) == ("waiting", 2, None)
    assert body["progress"]["done"] == 0

    monkeypatch.undo()
    assert job_run(job_id=job.pk, worker="test") is Outcome.DONE
    body = operator.get(f"/api/v1/jobs/{job.pk}/").json()
    assert body["status"] == "done"
    assert body["card"]["serial"] != failed_card.serial
    assert body["progress"]["done"] == body["progress"]["total"]


def test_stations_show_status_and_current_job(api, users, station, waiting, settings):
    viewer = api.as_user(users[Role.AUDITOR])
    body = viewer.get(f"/api/v1/stations/{station.pk}/").json()
    assert (body["status"], body["queue"], body["current_job"]) == (
        "offline",
        "station.bench-1",
        None,
    )

    job = job_of(waiting())
    PersonalizationJob.objects.filter(pk=job.pk).update(
        status="running", current_step="set_pin_puk"
    )
    EncoderStation.objects.filter(pk=station.pk).update(
        heartbeat_at=timezone.now(), busy_job=job, worker="host-1"
    )
    body = viewer.get("/api/v1/stations/").json()["results"][0]
    assert body["status"] == "busy"
    assert body["current_job"] == {
        "id": job.pk,
        "card_request": job.card_request_id,
        "current_step": "set_pin_puk",
    }
    assert body["worker"] == "host-1"

    EncoderStation.objects.filter(pk=station.pk).update(
        busy_job=None, heartbeat_at=timezone.now() - dt.timedelta(seconds=5)
    )
    assert viewer.get(f"/api/v1/stations/{station.pk}/").json()["status"] == "idle"
    EncoderStation.objects.filter(pk=station.pk).update(is_enabled=False)
    assert viewer.get(f"/api/v1/stations/{station.pk}/").json()["status"] == "disabled"


def test_administrators_add_stations(api, users):
    admin = api.as_user(users[Role.ADMINISTRATOR])
    response = admin.post(
        "/api/v1/stations/",
        {"name": "desk-3", "transport": "pcsc", "reader_pattern": "^Yubico.*"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["queue"] == "station.desk-3"

    missing_reader = admin.post(
        "/api/v1/stations/", {"name": "desk-4", "transport": "pcsc"}, format="json"
    )
    assert missing_reader.status_code == 400
    assert missing_reader.json()["errors"][0]["field"] == "reader_pattern"
    duplicate = admin.post(
        "/api/v1/stations/", {"name": "desk-3", "transport": "emulated"}, format="json"
    )
    assert duplicate.status_code == 400
    assert duplicate.json()["errors"][0]["field"] == "name"
