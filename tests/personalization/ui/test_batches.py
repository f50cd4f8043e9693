"""Approving and queueing many card requests at once: all or nothing, four eyes for each,
every request at fault named; a batch counts its jobs done, failed, waiting and running."""

from __future__ import annotations

import pytest

from accounts.roles import Role
from audit.events import EventType
from audit.models import AuditEvent
from cards.models import CardRequest
from config.errors import Conflict, NotAllowed
from personalization.models import JobBatch, PersonalizationJob
from personalization.runner.engine import job_run
from personalization.selectors import batch_get
from personalization.services.batches import BatchRejected, card_requests_approve_batch
from personalization.services.jobs import jobs_queue_many
from personalization.services.stations import station_create
from tests.personalization.ui.conftest import job_of

pytestmark = pytest.mark.django_db


def test_approving_many_queues_them_as_one_batch(submitted, station, users):
    requests = [submitted() for _ in range(3)]
    result = card_requests_approve_batch(card_requests=requests, by=users[Role.APPROVING_OFFICER])

    assert [r.pk for r in result.approved] == [r.pk for r in requests]
    assert all(r.status == CardRequest.Status.APPROVED for r in result.approved)
    batch = batch_get(pk=result.batch.pk)
    assert (batch.total, batch.waiting, batch.done) == (3, 3, 0)
    assert {job.card_request_id for job in batch.jobs.all()} == {r.pk for r in requests}
    assert AuditEvent.objects.filter(event=EventType.CARD_REQUEST_APPROVED).count() == 3


def test_four_eyes_holds_for_each_request_and_nothing_is_approved(submitted, station, users):
    # An administrator may submit and approve, but never both for one request.
    admin = users[Role.ADMINISTRATOR]
    others = [submitted(), submitted()]
    own = submitted(by=admin)
    decided = submitted()
    card_requests_approve_batch(card_requests=[decided], by=users[Role.APPROVING_OFFICER])
    batches = JobBatch.objects.count()

    with pytest.raises(BatchRejected) as raised:
        card_requests_approve_batch(card_requests=[*others, own, decided], by=admin)

    error = raised.value
    assert error.code == "batch_rejected"
    messages = [e.message for e in error.errors]
    assert len(messages) == 2
    assert messages[0].startswith(f"request #{own.pk}: you submitted this request")
    assert messages[1] == f"request #{decided.pk}: this request is already approved"
    assert error.message.startswith("2 of 4 requests cannot be approved; none was approved")
    for request in others:
        request.refresh_from_db()
        assert request.status == CardRequest.Status.SUBMITTED
    assert not PersonalizationJob.objects.filter(card_request__in=others).exists()
    assert JobBatch.objects.count() == batches
    assert not AuditEvent.objects.filter(
        event=EventType.CARD_REQUEST_APPROVED, object_id__in=[str(r.pk) for r in others]
    ).exists()


def test_without_an_automatic_station_approvals_make_no_batch(submitted, users):
    result = card_requests_approve_batch(
        card_requests=[submitted(), submitted()], by=users[Role.APPROVING_OFFICER]
    )
    assert len(result.approved) == 2
    assert result.batch is None
    assert not JobBatch.objects.exists()


def test_only_approving_officers_approve_many(submitted, users):
    with pytest.raises(NotAllowed):
        card_requests_approve_batch(card_requests=[submitted()], by=users[Role.ENCODING_OPERATOR])


def test_queueing_many_is_all_or_nothing(approved_unqueued, submitted, users):
    manual = station_create(name="manual-1", transport="emulated")
    ready = [approved_unqueued(), approved_unqueued()]
    not_approved = submitted()
    with pytest.raises(Conflict, match=f"request #{not_approved.pk} is submitted, not approved"):
        jobs_queue_many(
            card_requests=[*ready, not_approved], station=manual, by=users[Role.ENCODING_OPERATOR]
        )
    assert not PersonalizationJob.objects.filter(station=manual).exists()

    batch = jobs_queue_many(card_requests=ready, station=manual, by=users[Role.ENCODING_OPERATOR])
    assert batch_get(pk=batch.pk).waiting == 2


def test_a_batch_counts_done_failed_waiting_and_running(approved, users):
    requests = [approved() for _ in range(4)]
    batch = JobBatch.objects.create(name="counts")
    PersonalizationJob.objects.filter(card_request__in=requests).update(batch=batch)
    jobs = [job_of(r) for r in requests]
    job_run(job_id=jobs[0].pk, worker="test")
    PersonalizationJob.objects.filter(pk=jobs[1].pk).update(status="failed")
    PersonalizationJob.objects.filter(pk=jobs[2].pk).update(status="running")

    counted = batch_get(pk=batch.pk)
    assert (counted.total, counted.done, counted.failed, counted.running, counted.waiting) == (
        4,
        1,
        1,
        1,
        1,
    )
