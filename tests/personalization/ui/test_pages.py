"""The personalization pages of the back office as each role uses them (Django's test client,
no JavaScript): stations, jobs with their progress and its JSON, retry and cancel, queueing one
request or many, approving many, batches, cards."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.roles import Role
from cards.models import CardRequest
from personalization.models import EncoderStation, JobBatch, PersonalizationJob
from personalization.runner.engine import Outcome, job_run, step_names
from tests.factories import sign_in_verified
from tests.personalization.ui.conftest import job_of

pytestmark = pytest.mark.django_db


def _page(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def test_stations_page_says_how_to_run_a_worker(web, users, station):
    sign_in_verified(web, users[Role.ENCODING_OPERATOR])
    page = _page(web.get(reverse("station-list")))
    assert "bench-1" in page
    assert "station.bench-1" in page
    assert "python manage.py run_station NAME" in page
    assert "celery -A config worker -Q station.bench-1 --concurrency 1" in page
    assert '<span class="badge offline">offline</span>' in page
    assert "Add a station" not in page  # administrators only


def test_an_administrator_adds_a_station(web, users):
    sign_in_verified(web, users[Role.ADMINISTRATOR])
    response = web.post(
        reverse("station-create"), {"name": "desk-9", "transport": "pcsc", "reader_pattern": ""}
    )
    assert 'id="id_reader_pattern-errors"' in _page(response)
    assert "a PC/SC station needs a reader name" in response.content.decode()
    response = web.post(
        reverse("station-create"),
        {"name": "desk-9", "transport": "pcsc", "reader_pattern": "Yubico"},
        follow=True,
    )
    assert "Station desk-9 is created" in _page(response)
    assert EncoderStation.objects.get(name="desk-9").queue == "station.desk-9"


def test_job_page_shows_progress_and_polls_while_the_job_runs(web, users, approved):
    request = approved()
    job = job_of(request)
    sign_in_verified(web, users[Role.APPROVING_OFFICER])
    page = _page(web.get(reverse("job-detail", args=[job.pk])))
    assert f'data-poll-url="{reverse("job-progress", args=[job.pk])}"' in page
    assert '<span class="badge waiting" id="job-status" data-job-status>Waiting</span>' in page
    assert f"0 of {len(step_names(job))} steps" in page
    assert "job-progress.js" in page
    # The approving officer may watch, not cancel or retry.
    assert "Cancel this job" not in page

    progress = web.get(reverse("job-progress", args=[job.pk]))
    assert progress["Cache-Control"].startswith("max-age=0")
    body = progress.json()
    assert (body["status"], body["finished"], body["done"]) == ("waiting", False, 0)
    assert [s["name"] for s in body["steps"]] == step_names(job)

    assert job_run(job_id=job.pk, worker="test") is Outcome.DONE
    job.refresh_from_db()
    body = web.get(reverse("job-progress", args=[job.pk])).json()
    assert body["status_label"] == "Personalized"
    assert body["finished"] is True
    assert body["done"] == body["total"] == len(step_names(job))
    assert body["card"] == {
        "serial": job.card.serial,
        "status_label": "Personalized",
        "url": reverse("card-detail", args=[job.card.pk]),
    }
    assert body["request_status_label"] == "Card personalized"
    page = _page(web.get(reverse("job-detail", args=[job.pk])))
    assert "data-poll-url" not in page  # finished: nothing to follow
    assert job.card.serial in page


def test_cancel_and_retry_from_the_job_page(web, users, waiting):
    job = job_of(waiting())
    sign_in_verified(web, users[Role.ENCODING_OPERATOR])
    page = _page(web.get(reverse("job-detail", args=[job.pk])))
    assert "Cancel this job" in page

    page = _page(web.post(reverse("job-cancel", args=[job.pk]), follow=True))
    assert f"Job #{job.pk} is cancelled" in page
    page = _page(web.post(reverse("job-cancel", args=[job.pk]), follow=True))
    assert "only waiting jobs can be cancelled" in page
    page = _page(web.post(reverse("job-retry", args=[job.pk]), follow=True))
    assert "only failed jobs can be retried" in page

    PersonalizationJob.objects.filter(pk=job.pk).update(status="failed", error_message="card out")
    page = _page(web.post(reverse("job-retry", args=[job.pk]), follow=True))
    assert "is queued again (attempt 2)" in page
    job.refresh_from_db()
    assert (job.status, job.attempt) == ("waiting", 2)

    sign_in_verified(web, users[Role.AUDITOR])
    assert web.post(reverse("job-cancel", args=[job.pk])).status_code == 403


def test_job_list_filters(web, users, waiting):
    first, second = job_of(waiting()), job_of(waiting())
    PersonalizationJob.objects.filter(pk=second.pk).update(status="failed")
    sign_in_verified(web, users[Role.AUDITOR])
    page = _page(web.get(reverse("job-list"), {"status": "failed", "station": "bench-1"}))
    assert f'href="{reverse("job-detail", args=[second.pk])}"' in page
    assert f'href="{reverse("job-detail", args=[first.pk])}"' not in page


def test_request_page_shows_its_job_live_and_queues_an_approved_request(
    web, users, approved_unqueued, waiting
):
    request = waiting()
    job = job_of(request)
    sign_in_verified(web, users[Role.APPROVING_OFFICER])
    page = _page(web.get(reverse("card-request-detail", args=[request.pk])))
    assert f"job #{job.pk}" in page
    assert 'id="job-status"' in page
    assert "data-poll-url" in page
    assert "data-request-status" in page
    assert "Queue on station" not in page

    ready = approved_unqueued()
    sign_in_verified(web, users[Role.ENCODING_OPERATOR])
    page = _page(web.get(reverse("card-request-detail", args=[ready.pk])))
    assert "Queue on station" in page
    page = _page(
        web.post(
            reverse("card-request-queue", args=[ready.pk]), {"station": "bench-1"}, follow=True
        )
    )
    assert f"Request #{ready.pk} is queued on bench-1" in page
    assert PersonalizationJob.objects.filter(card_request=ready).active().count() == 1
    assert "Queue on station" not in page

    page = _page(
        web.post(
            reverse("card-request-queue", args=[ready.pk]), {"station": "bench-1"}, follow=True
        )
    )
    assert "already has a personalization job" in page


def test_approve_ticked_requests_as_a_batch(web, users, submitted, station):
    requests = [submitted(), submitted()]
    sign_in_verified(web, users[Role.APPROVING_OFFICER])
    page = _page(web.get(reverse("card-request-list")))
    assert "Approve ticked requests" in page
    assert "Queue ticked requests" not in page
    for request in requests:
        assert f'name="requests" value="{request.pk}"' in page
        # Each ticked row carries the identity snapshot it shows.
        assert f'name="identity_{request.pk}" value="{request.identity_sha256}"' in page
    shown = {f"identity_{r.pk}": r.identity_sha256 for r in requests}

    # A hash the page did not show (or none) approves nothing.
    stale = _page(
        web.post(
            reverse("card-requests-approve"),
            {"requests": [r.pk for r in requests], **shown, f"identity_{requests[0].pk}": ""},
            follow=True,
        )
    )
    assert f"request #{requests[0].pk}: card request #{requests[0].pk}: the identity" in stale
    assert not CardRequest.objects.filter(status=CardRequest.Status.APPROVED).exists()

    response = web.post(
        reverse("card-requests-approve"),
        {"requests": [r.pk for r in requests], **shown},
        follow=True,
    )
    page = _page(response)
    batch = JobBatch.objects.get()
    assert response.redirect_chain[-1][0] == reverse("batch-detail", args=[batch.pk])
    assert f"2 card request(s) approved and queued as batch #{batch.pk}" in page
    assert '<div class="n" data-batch-count="waiting" id="batch-waiting">2</div>' in page
    assert "data-poll-url" in page
    assert all(
        r.status == CardRequest.Status.APPROVED
        for r in CardRequest.objects.filter(pk__in=[r.pk for r in requests])
    )
    progress = web.get(reverse("batch-progress", args=[batch.pk])).json()
    assert progress["counts"]["waiting"] == 2
    assert progress["finished"] is False


def test_a_batch_approval_with_an_own_request_names_it_and_approves_nothing(
    web, users, submitted, station
):
    admin = users[Role.ADMINISTRATOR]
    other, own = submitted(), submitted(by=admin)
    sign_in_verified(web, admin)
    page = _page(
        web.post(
            reverse("card-requests-approve"),
            {
                "requests": [other.pk, own.pk],
                f"identity_{other.pk}": other.identity_sha256,
                f"identity_{own.pk}": own.identity_sha256,
            },
            follow=True,
        )
    )
    assert "1 of 2 requests cannot be approved; none was approved." in page
    assert f"request #{own.pk}: you submitted this request" in page
    other.refresh_from_db()
    assert other.status == CardRequest.Status.SUBMITTED

    page = _page(web.post(reverse("card-requests-approve"), {}, follow=True))
    assert "Tick at least one card request." in page


def test_queue_ticked_requests_on_a_station(web, users, approved_unqueued, waiting):
    ready = [approved_unqueued(), approved_unqueued()]
    queued = waiting()
    sign_in_verified(web, users[Role.ENCODING_OPERATOR])
    page = _page(web.get(reverse("card-request-list"), {"status": "approved"}))
    assert "Queue ticked requests on station" in page
    assert "Approve ticked requests" not in page
    for request in ready:
        assert f'name="requests" value="{request.pk}"' in page
        assert "job cancelled" in page
    # Already queued: nothing to tick, and a link to its job.
    assert f'name="requests" value="{queued.pk}"' not in page
    assert f'href="{reverse("job-detail", args=[job_of(queued).pk])}"' in page
    assert "job waiting" in page

    response = web.post(
        reverse("card-requests-queue"),
        {"requests": [r.pk for r in ready], "station": "bench-1"},
        follow=True,
    )
    page = _page(response)
    batch = JobBatch.objects.get()
    assert f"Batch #{batch.pk} is queued" in page
    assert batch.jobs.filter(status="waiting").count() == 2


def test_cards_list_and_detail_by_role(web, users, personalize):
    card = personalize()
    sign_in_verified(web, users[Role.AUDITOR])
    page = _page(web.get(reverse("card-list"), {"q": card.professional.rpps}))
    assert card.serial in page
    assert "to collect" in page
    page = _page(web.get(reverse("card-detail", args=[card.pk])))
    assert "Download the PIN mailer" not in page  # auditors read, never download
    assert "Card face (PDF)" not in page
    assert web.get(reverse("card-face", args=[card.pk])).status_code == 403
    assert web.post(reverse("card-pin-mailer", args=[card.pk])).status_code == 403

    sign_in_verified(web, users[Role.ENCODING_OPERATOR])
    page = _page(web.get(reverse("card-detail", args=[card.pk])))
    assert "Download the PIN mailer (once)" in page
    assert "Card face (PDF)" in page
    assert f'href="{reverse("job-detail", args=[job_of(card.card_request).pk])}"' in page
    assert _page(web.get(reverse("card-list"), {"serial": "000"})).count(card.serial) == 0
