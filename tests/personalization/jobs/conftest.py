"""Fixtures for personalization jobs: a bootstrapped PKI, an emulated station, approved requests."""

from __future__ import annotations

import pytest

from accounts.roles import Role
from issuance.services.card_requests import card_request_approve, card_request_submit
from personalization.services.stations import station_create
from pki.services.cas import pki_bootstrap
from tests.factories import OrganisationFactory, ProfessionalFactory


@pytest.fixture
def pki(db):
    return pki_bootstrap(backend="software")


@pytest.fixture
def station(db):
    return station_create(name="bench-1", transport="emulated", takes_approved_requests=True)


@pytest.fixture
def approved(pki, station, profiles, users):
    """approved(profile="hpc-physician", reason="new", professional=None) -> CardRequest with a
    waiting job on the emulated station."""

    def make(profile: str = "hpc-physician", *, reason: str = "new", professional=None):
        professional = professional or ProfessionalFactory(organisation=OrganisationFactory())
        request = card_request_submit(
            professional=professional,
            profile=profiles[profile],
            reason=reason,
            by=users[Role.ENROLMENT_OFFICER],
        )
        return card_request_approve(card_request=request, by=users[Role.APPROVING_OFFICER])

    return make


@pytest.fixture
def cue(settings):
    """cue(step, action="raise", *, before=False) -> Cue: the station transports and the PKI key
    backend of tests/personalization/jobs/cues.py act once in `step` (see there)."""
    from tests.personalization.jobs import worker_settings
    from tests.personalization.jobs.cues import Cue, set_cue

    settings.CARDFORGE_STATION_TRANSPORTS = worker_settings.CARDFORGE_STATION_TRANSPORTS

    def arm(step: str, action="raise", *, before: bool = False) -> Cue:
        armed = Cue(step, action, before=before)
        set_cue(armed)
        return armed

    yield arm
    set_cue(None)


@pytest.fixture
def celery_messages(monkeypatch) -> list[int]:
    """The ids of the jobs sent to Celery (on commit), kept here instead of reaching a broker
    nobody consumes (tests with committed transactions)."""
    sent: list[int] = []
    monkeypatch.setattr("personalization.services.jobs._send", lambda job: sent.append(job.pk))
    return sent
