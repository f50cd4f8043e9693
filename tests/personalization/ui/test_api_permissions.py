"""Every role against every personalization API endpoint: allowed roles succeed, others get
403, anonymous callers 401 (as tests/issuance/test_api_permissions.py does for issuance)."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.utils import timezone

from cards.models import Card
from personalization.models import JobBatch, PersonalizationJob
from tests.factories import make_user
from tests.personalization.ui.conftest import job_of
from tests.role_matrix import (
    ADM,
    ENCODING,
    EVERYONE,
    A,
    Case,
    assert_anonymous_answer,
    assert_role_answer,
    assert_roleless_answer,
    call,
    cases,
    every_role,
)


class Context:
    """Builds only what a case needs (most need no PKI and no card). A caller who will be
    refused (`real=False`) never reaches the card, so a bare card row stands in for one
    personalized by the runner."""

    _names = itertools.count(1)

    def __init__(self, request, *, real: bool = True):
        self._request = request
        self.real = real

    def fixture(self, name: str):
        return self._request.getfixturevalue(name)

    def waiting_job(self) -> PersonalizationJob:
        return job_of(self.fixture("waiting")())

    def failed_job(self) -> PersonalizationJob:
        job = self.waiting_job()
        PersonalizationJob.objects.filter(pk=job.pk).update(
            status=PersonalizationJob.Status.FAILED, error_code="CardError"
        )
        return job

    def stalled_job(self) -> PersonalizationJob:
        """Running, its worker silent for an hour, before it began a card (no PKI needed)."""
        job = self.waiting_job()
        PersonalizationJob.objects.filter(pk=job.pk).update(
            status=PersonalizationJob.Status.RUNNING,
            lease_owner="gone",
            heartbeat_at=timezone.now() - dt.timedelta(hours=1),
        )
        return job

    def card(self) -> Card:
        if self.real:
            return self.fixture("personalize")()
        job = self.waiting_job()
        request = job.card_request
        return Card.objects.create(
            serial=f"99{next(self._names):010d}",
            professional=request.professional,
            card_request=request,
            card_profile=request.card_profile,
            profile_version=request.profile_version,
            station=job.station,
            expires_at=timezone.now(),
        )

    def station_name(self) -> str:
        return self.fixture("station").name

    def new_name(self) -> str:
        return f"matrix-{next(self._names)}"


def _queue(c: Context):
    request = c.fixture("approved_unqueued")()
    return "/api/v1/jobs/", {"card_request": request.pk, "station": c.station_name()}


def _queue_batch(c: Context):
    requests = [c.fixture("approved_unqueued")() for _ in range(2)]
    return "/api/v1/jobs/batch/", {
        "card_requests": [r.pk for r in requests],
        "station": c.station_name(),
    }


def _approve_many(c: Context):
    c.fixture("station")  # approvals queue jobs on it, as one batch
    requests = [c.fixture("submitted")() for _ in range(2)]
    return "/api/v1/card-requests/approve/", {"card_requests": [r.pk for r in requests]}


CASES = [
    Case("list stations", "get", EVERYONE, 200, lambda c: ("/api/v1/stations/", None)),
    Case(
        "get station",
        "get",
        EVERYONE,
        200,
        lambda c: (f"/api/v1/stations/{c.fixture('station').pk}/", None),
    ),
    Case(
        "create station",
        "post",
        {ADM},
        201,
        lambda c: ("/api/v1/stations/", {"name": c.new_name(), "transport": "emulated"}),
    ),
    Case(
        "change station",
        "patch",
        {ADM},
        200,
        lambda c: (f"/api/v1/stations/{c.fixture('station').pk}/", {"enabled": False}),
    ),
    Case("list jobs", "get", EVERYONE, 200, lambda c: ("/api/v1/jobs/", None)),
    Case("get job", "get", EVERYONE, 200, lambda c: (f"/api/v1/jobs/{c.waiting_job().pk}/", None)),
    Case("queue job", "post", ENCODING, 202, _queue),
    Case("queue batch", "post", ENCODING, 202, _queue_batch),
    Case(
        "retry job",
        "post",
        ENCODING,
        202,
        lambda c: (f"/api/v1/jobs/{c.failed_job().pk}/retry/", {}),
    ),
    Case(
        "cancel job",
        "post",
        ENCODING,
        200,
        lambda c: (f"/api/v1/jobs/{c.waiting_job().pk}/cancel/", {}),
    ),
    Case(
        "abandon job",
        "post",
        ENCODING,
        200,
        lambda c: (f"/api/v1/jobs/{c.stalled_job().pk}/abandon/", {"reason": "station gone"}),
    ),
    Case("list batches", "get", EVERYONE, 200, lambda c: ("/api/v1/batches/", None)),
    Case(
        "get batch",
        "get",
        EVERYONE,
        200,
        lambda c: (f"/api/v1/batches/{JobBatch.objects.create(name='b').pk}/", None),
    ),
    Case("approve many requests", "post", {A, ADM}, 200, _approve_many),
    Case("list cards", "get", EVERYONE, 200, lambda c: ("/api/v1/cards/", None)),
    Case("get card", "get", EVERYONE, 200, lambda c: (f"/api/v1/cards/{c.card().pk}/", None)),
    Case(
        "card face",
        "get",
        ENCODING,
        200,
        lambda c: (f"/api/v1/cards/{c.card().pk}/card-face.pdf", None),
    ),
    Case(
        "carrier",
        "get",
        ENCODING,
        200,
        lambda c: (f"/api/v1/cards/{c.card().pk}/carrier.pdf", None),
    ),
    Case(
        "PIN mailer",
        "post",
        ENCODING,
        200,
        lambda c: (f"/api/v1/cards/{c.card().pk}/pin-mailer.pdf", {}),
    ),
]


@pytest.fixture
def context(db, request) -> Context:
    return Context(request, real=True)


@pytest.fixture
def refused_context(db, request) -> Context:
    return Context(request, real=False)


@cases(CASES)
@every_role
def test_role_permissions(api, request, case, role):
    context = request.getfixturevalue("context" if role in case.allowed else "refused_context")
    assert_role_answer(call(api.as_user(make_user(role)), case, context), case, role)


@cases(CASES)
def test_anonymous_gets_401(api, refused_context, case):
    assert_anonymous_answer(call(api.as_user(None), case, refused_context))


@cases(CASES)
def test_user_without_role_gets_403(api, refused_context, case):
    assert_roleless_answer(call(api.as_user(make_user(None)), case, refused_context))
