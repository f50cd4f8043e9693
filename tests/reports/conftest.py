"""Fixtures for auditor reports: tasks run in the test's process (the build, then the signer's
turn), a bootstrapped PKI."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from accounts.roles import Role
from cards.models import Card
from cards.services.card_actions import card_revoke_emergency
from cards.services.card_requests import (
    card_request_approve,
    card_request_reject,
    card_request_submit,
)
from personalization.job_states import job_claim
from personalization.models import PersonalizationJob
from personalization.runner.engine import Outcome, job_fail, job_run
from personalization.services.stations import station_create
from pki.services.cas import pki_bootstrap
from tests.factories import OrganisationFactory, ProfessionalFactory


@pytest.fixture(autouse=True)
def _celery_eager():
    from config.celery import app

    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous


@pytest.fixture
def pki(db):
    return pki_bootstrap(backend="software")


@dataclass
class Period:
    """What happened today, made through the services: the report must say exactly this."""

    organisation: object
    other_organisation: object
    station: object
    personalized: list
    rejected: object
    pending: object
    revoked: object
    failed_job: object


@pytest.fixture
def period(pki, profiles, users) -> Period:
    """Five requests submitted today in one organisation and one in another: four approved,
    three of them personalized on the emulated station, one failed there (its job, with the
    card's error code), one rejected, one left waiting; one personalized card revoked by the
    administrator alone (the emergency path) as stolen."""
    station = station_create(name="desk-1", transport="emulated", takes_approved_requests=True)
    organisation, other = OrganisationFactory(), OrganisationFactory()
    officer, approver = users[Role.ENROLMENT_OFFICER], users[Role.APPROVING_OFFICER]

    def submit(org):
        return card_request_submit(
            professional=ProfessionalFactory(organisation=org),
            profile=profiles["hpc-physician"],
            by=officer,
        )

    approved = [
        card_request_approve(card_request=submit(org), by=approver)
        for org in (organisation, organisation, other, organisation)
    ]
    for request in approved[:3]:
        job = PersonalizationJob.objects.get(card_request=request)
        assert job_run(job_id=job.pk, worker="report-tests") is Outcome.DONE
    failing = PersonalizationJob.objects.get(card_request=approved[3])
    assert job_claim(failing.pk, "report-tests")
    failing.refresh_from_db()
    job_fail(failing, "report-tests", "CardError", "6A82: file not found")
    rejected = card_request_reject(
        card_request=submit(organisation), by=approver, reason="RPPS number not confirmed"
    )
    pending = submit(organisation)
    personalized = [Card.objects.get(card_request=request) for request in approved[:3]]
    revoked = card_revoke_emergency(
        card=personalized[0],
        reason=Card.RevocationReason.STOLEN,
        by=users[Role.ADMINISTRATOR],
        comment="reported stolen by the holder, used at the pharmacy this morning",
    )
    return Period(organisation, other, station, personalized, rejected, pending, revoked, failing)
