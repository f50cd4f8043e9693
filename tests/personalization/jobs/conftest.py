"""Fixtures for personalization jobs: a bootstrapped PKI, an emulated station, approved requests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.utils import timezone

from accounts.roles import Role
from cardedge.piv.constants import Ins
from cards.services.card_requests import card_request_approve, card_request_submit
from personalization.models import PersonalizationJob
from personalization.runner.engine import job_run
from personalization.services.stations import station_create
from pki.models import Certificate
from pki.services.cas import pki_bootstrap
from tests.cardedge.pcsc_harness import EmulatorProcess, HarnessError
from tests.factories import OrganisationFactory, ProfessionalFactory
from tests.personalization.jobs.faults import Fault, SimulatedCrash, install


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


def age_heartbeat(job: PersonalizationJob, *, seconds: float = 3600) -> None:
    """The job's worker last reported `seconds` ago."""
    PersonalizationJob.objects.filter(pk=job.pk).update(
        heartbeat_at=timezone.now() - dt.timedelta(seconds=seconds)
    )


def killed_mid_job(request) -> PersonalizationJob:
    """Run the request's job until its worker "dies" right after the card stored the first
    certificate (write_objects): the card row and its four certificates exist, the job is
    running with the dead worker's lease and the station is still the job's."""
    job = PersonalizationJob.objects.get(card_request=request)
    with pytest.MonkeyPatch.context() as patch:
        fault = install(patch, Fault(Ins.PUT_DATA, 1))
        with pytest.raises(SimulatedCrash):
            job_run(job_id=job.pk, worker="dead-worker")
    assert fault.fired
    job.refresh_from_db()
    assert (job.status, job.lease_owner, job.current_step) == (
        "running",
        "dead-worker",
        "write_objects",
    )
    assert Certificate.objects.for_card(job.card).valid().count() == 4
    return job


@pytest.fixture
def stalled(approved):
    """stalled() -> a job that has begun its card, left running by a killed worker an hour ago
    (a station that never came back)."""

    def make() -> PersonalizationJob:
        job = killed_mid_job(approved())
        age_heartbeat(job)
        job.refresh_from_db()
        return job

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


class SecondReader:
    """The harness pcscd's second reader (its first holds the harness's own card): a card is
    `insert`ed by starting `manage.py emulate_card` on it, and `remove`d by stopping that."""

    def __init__(self, harness, directory: Path) -> None:
        self.harness = harness
        self.directory = directory
        self.name = harness.pcscd.reader_name(1)
        self.card: EmulatorProcess | None = None

    def insert(self, *args: str, env: dict[str, str] | None = None) -> EmulatorProcess:
        """`insert("--state", FILE, "--serial", N)`, `insert("--card", N, env=...)`."""
        self.remove()
        self.card = EmulatorProcess.start(
            self.harness.pcscd.vpcd_address(1),
            state_path=None,
            log_path=self.directory / "second-reader.log",
            extra_args=list(args),
            env=env,
        )
        try:
            self.harness.pcscd.wait_for_card(1)
        except HarnessError as exc:
            self.remove()
            pytest.fail(f"{exc}\ncard process log:\n{self.card_log()}", pytrace=False)
        return self.card

    def card_log(self) -> str:
        path = self.directory / "second-reader.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def remove(self) -> None:
        if self.card is not None:
            self.card.stop()
            self.card = None
            self.harness.pcscd.wait_for_card(1, present=False)


@pytest.fixture
def second_reader(pcsc_harness, tmp_path) -> Iterator[SecondReader]:
    reader = SecondReader(pcsc_harness, tmp_path)
    yield reader
    reader.remove()
