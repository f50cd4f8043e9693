"""Fixtures for the API and back office of personalization: the job fixtures of
tests/personalization/jobs (a bootstrapped PKI, an emulated station that takes approved
requests, approved requests with a waiting job), and cards personalized in process."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.roles import Role
from cards.models import Card
from cards.services.card_requests import card_request_approve, card_request_submit
from personalization.models import PersonalizationJob
from personalization.runner.engine import Outcome, job_run
from personalization.services.jobs import job_cancel
from tests.factories import ProfessionalFactory
from tests.personalization.jobs.conftest import approved, pki, stalled, station

__all__ = ["approved", "pki", "stalled", "station"]


def job_of(card_request) -> PersonalizationJob:
    return PersonalizationJob.objects.filter(card_request=card_request).latest("pk")


@pytest.fixture
def personalize(approved):
    """personalize(profile="hpc-physician", professional=None) -> a personalized Card, made by
    the job runner in process, as a station's worker would."""

    def make(profile: str = "hpc-physician", **options) -> Card:
        job = job_of(approved(profile, **options))
        assert job_run(job_id=job.pk, worker="test") is Outcome.DONE
        job.refresh_from_db()
        return job.card

    return make


@pytest.fixture
def submitted(profiles, users):
    """submitted(by=None) -> a request submitted by the enrolment officer (or `by`)."""

    def make(*, by=None, profile: str = "hpc-physician"):
        return card_request_submit(
            professional=ProfessionalFactory(),
            profile=profiles[profile],
            by=by or users[Role.ENROLMENT_OFFICER],
        )

    return make


@pytest.fixture
def waiting(submitted, station, users):
    """waiting() -> an approved request whose job waits on the station. No PKI: for tests that
    never run the job (use `approved` or `personalize` for those that do)."""

    def make(profile: str = "hpc-physician"):
        return card_request_approve(
            card_request=submitted(profile=profile), by=users[Role.APPROVING_OFFICER]
        )

    return make


@pytest.fixture
def approved_unqueued(waiting, users):
    """approved_unqueued() -> an approved request with no live job (its automatic job was
    cancelled), ready to be queued by hand."""

    def make(profile: str = "hpc-physician"):
        request = waiting(profile)
        job_cancel(job=job_of(request), by=users[Role.ADMINISTRATOR])
        return request

    return make


@pytest.fixture
def web(db) -> Client:
    """Django's test client (named apart from tests/cardedge's `client`, a PIV client)."""
    return Client()
