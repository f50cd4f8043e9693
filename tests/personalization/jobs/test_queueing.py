"""Queueing a request's job: once per request, again only after a failure or a cancellation."""

from __future__ import annotations

import pytest

from accounts.roles import Role
from config.errors import Conflict
from personalization.models import PersonalizationJob
from personalization.services.jobs import job_queue

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("status", ["waiting", "running", "done"])
def test_a_request_with_a_live_or_finished_job_is_not_queued_again(
    approved, station, users, status
):
    request = approved()
    PersonalizationJob.objects.filter(card_request=request).update(status=status)
    with pytest.raises(Conflict) as refused:
        job_queue(card_request=request, station=station, by=users[Role.ENCODING_OPERATOR])
    assert refused.value.code == "job_exists"


@pytest.mark.parametrize("status", ["failed", "cancelled"])
def test_a_request_whose_job_failed_or_was_cancelled_can_be_queued_again(
    approved, station, users, status
):
    request = approved()
    PersonalizationJob.objects.filter(card_request=request).update(status=status)
    job = job_queue(card_request=request, station=station, by=users[Role.ENCODING_OPERATOR])
    assert job.status == "waiting"
    assert PersonalizationJob.objects.filter(card_request=request).count() == 2
