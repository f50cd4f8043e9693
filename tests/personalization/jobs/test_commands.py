"""Commands of stations and jobs: `run_station`, `personalize`, `emulate_card --card`."""

from __future__ import annotations

import io
import os
import signal
import sys
import threading

import pytest
from django.core.management import CommandError, call_command

from accounts.roles import Role
from audit.events import EventType
from audit.models import AuditEvent
from cardedge.piv import Pin, PivClient
from cardedge.transports.emulated import EmulatedTransport
from cards.services.secrets import pin_mailer_secrets
from personalization.emulated_cards import emulated_card_open
from personalization.models import EmulatedCard, EncoderStation, PersonalizationJob
from personalization.runner.engine import job_run
from personalization.services.stations import station_create
from tests.cardedge.vpcd.fake_vpcd import FakeVpcd
from tests.factories import make_totp_device
from tests.personalization.jobs.cues import SimulatedCrash

pytestmark = pytest.mark.django_db


def _job(request) -> PersonalizationJob:
    return PersonalizationJob.objects.get(card_request=request)


# --- run_station ------------------------------------------------------------------------------


@pytest.fixture
def execs(monkeypatch) -> list[list[str]]:
    """The argv run_station would replace itself with."""
    calls: list[list[str]] = []
    # run_station names its station in the worker's environment: restored after the test.
    monkeypatch.setenv("CARDFORGE_STATIONS", "")
    monkeypatch.setattr(
        "personalization.management.commands.run_station.os.execv",
        lambda path, argv: calls.append(argv),
    )
    # Before exec it closes its database connections: not this test's.
    monkeypatch.setattr(
        "personalization.management.commands.run_station.connections.close_all", lambda: None
    )
    return calls


def test_run_station_becomes_the_stations_worker(pki, station, execs):
    out = io.StringIO()
    call_command("run_station", station.name, "--", "--loglevel", "INFO", stdout=out)
    assert execs == [
        [
            sys.executable,
            *("-m", "celery", "-A", "config", "worker", "-Q", "station.bench-1"),
            *("--concurrency", "1", "--hostname", "station-bench-1@%h"),
            *("--loglevel", "INFO"),
        ]
    ]
    assert "station.bench-1" in out.getvalue()
    # The worker runs this station's jobs only (personalization/tasks.py).
    assert os.environ["CARDFORGE_STATIONS"] == "bench-1"


def test_run_station_refuses_a_missing_or_disabled_station_and_options_that_unmake_it(
    station, execs
):
    with pytest.raises(CommandError, match=r"no station named 'nope' \(stations: bench-1\)"):
        call_command("run_station", "nope")
    for option in ("--concurrency=4", "-c4", "-Q", "--hostname"):
        with pytest.raises(CommandError, match="concurrency 1"):
            call_command("run_station", station.name, "--", option, "x")
    EncoderStation.objects.filter(pk=station.pk).update(is_enabled=False)
    with pytest.raises(CommandError, match="station bench-1 is disabled"):
        call_command("run_station", station.name)
    assert execs == []


@pytest.mark.pcsc
def test_run_station_create_makes_a_pcsc_station_and_warns_about_its_reader(
    pki, pcsc_harness, execs
):
    # This process's PC/SC library may only ever talk to the harness's pcscd: bound first.
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "run_station",
        "desk-3",
        "--create",
        "--transport",
        "pcsc",
        "--reader",
        "Gemalto PC Twin",
        stdout=out,
        stderr=err,
    )
    station = EncoderStation.objects.get(name="desk-3")
    assert (station.transport, station.reader_pattern) == ("pcsc", "Gemalto PC Twin")
    assert "Created station desk-3." in out.getvalue()
    assert err.getvalue().startswith("Warning: no reader matches 'Gemalto PC Twin' yet (readers: ")
    assert pcsc_harness.reader_name in err.getvalue()
    assert execs[0][execs[0].index("-Q") + 1] == "station.desk-3"


# --- station ----------------------------------------------------------------------------------


def _station_command(*args: str) -> str:
    out = io.StringIO()
    call_command("station", *args, stdout=out)
    return out.getvalue()


def test_station_list_shows_each_stations_state_and_jobs(approved, station, users):
    first = _job(approved())
    approved()  # a second job, waiting
    PersonalizationJob.objects.filter(pk=first.pk).update(status="running")
    EncoderStation.objects.filter(pk=station.pk).update(busy_job=first)
    station_create(name="desk-2", transport="pcsc", reader_pattern="Yubico")

    lines = _station_command("list").splitlines()
    assert lines[0].split() == [
        *("name", "transport", "reader", "status", "auto", "current", "job"),
        *("waiting", "last", "seen"),
    ]
    bench = next(line.split() for line in lines if line.startswith("bench-1"))
    assert bench[:7] == ["bench-1", "emulated", "-", "offline", "yes", f"#{first.pk}", "1"]
    desk = next(line.split() for line in lines if line.startswith("desk-2"))
    assert desk == ["desk-2", "pcsc", "Yubico", "offline", "no", "-", "0", "never"]


def test_station_disable_and_enable_as_an_administrator(
    approved, station, users, celery_messages, django_capture_on_commit_callbacks, console_typing
):
    running, waiting = _job(approved()), _job(approved())
    PersonalizationJob.objects.filter(pk=running.pk).update(status="running")
    EncoderStation.objects.filter(pk=station.pk).update(busy_job=running)
    admin = users[Role.ADMINISTRATOR]
    make_totp_device(admin)

    out = _station_command("disable", "bench-1", "--as-user", admin.username)
    assert out.splitlines() == [
        "Station bench-1 disabled.",
        f"Job #{running.pk} is still running on it: wait until it ends before touching the "
        "reader or stopping the worker.",
        "1 job(s) wait on it until it is enabled again.",
    ]
    station.refresh_from_db()
    assert (station.is_enabled, station.takes_approved_requests) == (False, False)
    event = AuditEvent.objects.filter(event=EventType.STATION_UPDATED).get()
    assert event.actor == admin.username
    assert event.payload["changed"]["is_enabled"] == {"from": True, "to": False}
    assert "already disabled" in _station_command("disable", "bench-1", "--as-user", admin.username)

    with django_capture_on_commit_callbacks(execute=True):
        out = _station_command("enable", "bench-1", "--as-user", admin.username)
    assert out.splitlines() == [
        "Station bench-1 enabled.",
        "1 waiting job(s) sent to its queue, oldest first.",
    ]
    assert celery_messages[-1] == waiting.pk
    assert AuditEvent.objects.filter(event=EventType.STATION_UPDATED).count() == 2
    # The administrator proved who they are each time: password, then authenticator code.
    assert console_typing["prompts"][:2] == [
        f"Password for {admin.username}: ",
        f"Authenticator code for {admin.username}: ",
    ]
    verified = AuditEvent.objects.filter(
        event=EventType.SECOND_FACTOR_VERIFIED, actor=admin.username
    )
    assert [event.payload["via"] for event in verified] == ["console"] * 3


def test_a_command_cannot_act_as_someone_whose_password_it_does_not_know(
    station, users, console_typing
):
    """Naming another user is not enough: the command asks for their password (and code)."""
    admin = users[Role.ADMINISTRATOR]
    make_totp_device(admin)
    console_typing["password"] = "a guess"
    with pytest.raises(CommandError, match=f"--as-user: {admin.username}: Unable to log in"):
        _station_command("disable", "bench-1", "--as-user", admin.username)
    station.refresh_from_db()
    assert station.is_enabled
    assert AuditEvent.objects.filter(event=EventType.USER_LOGIN_FAILED).exists()
    assert not AuditEvent.objects.filter(event=EventType.STATION_UPDATED).exists()


def test_station_refusals_change_nothing(station, users, console_typing):
    for args, message in (
        (("disable", "nowhere", "--as-user", "administrator"), "no station named 'nowhere'"),
        (("disable", "bench-1", "--as-user", "ghost"), "--as-user: ghost: Unable to log in"),
        (
            ("disable", "bench-1", "--as-user", users[Role.ENCODING_OPERATOR].username),
            "you are not allowed to change encoder stations",
        ),
    ):
        with pytest.raises(CommandError, match=message):
            _station_command(*args)
    with pytest.raises(CommandError, match="--as-user"):
        _station_command("enable", "bench-1")
    station.refresh_from_db()
    assert station.is_enabled
    assert not AuditEvent.objects.filter(event=EventType.STATION_UPDATED).exists()


# --- personalize ------------------------------------------------------------------------------


def test_personalize_queues_as_the_user_and_follows_the_job(
    approved, station, users, monkeypatch, console_typing
):
    station.takes_approved_requests = False
    station.save()
    request = approved()
    assert not PersonalizationJob.objects.filter(card_request=request).exists()
    # The station's worker, played by this process as soon as the command starts waiting.
    monkeypatch.setattr(
        "personalization.management.commands.personalize.Command._hint_if_offline",
        lambda self, job: None,
    )
    original = _follow_with_a_worker(monkeypatch)
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "personalize",
        request.pk,
        "--station",
        station.name,
        "--as-user",
        users[Role.ENCODING_OPERATOR].username,
        "--wait",
        stdout=out,
        stderr=err,
    )
    job = _job(request)
    assert job.created_by == users[Role.ENCODING_OPERATOR]
    assert out.getvalue().splitlines() == [
        f"Queued job #{job.pk} for request #{request.pk} on bench-1.",
        f"Card {job.card.serial} personalized (job #{job.pk}).",
    ]
    assert original.ran == [job.pk]


def _follow_with_a_worker(monkeypatch):
    from personalization.management.commands import personalize

    follow = personalize.Command._follow

    def follow_and_work(self, job, **options):
        follow_and_work.ran.append(job.pk)
        job_run(job_id=job.pk, worker="test-worker")
        return follow(self, job, **options)

    follow_and_work.ran = []
    monkeypatch.setattr(personalize.Command, "_follow", follow_and_work)
    return follow_and_work


def test_personalize_names_the_error_of_a_failed_job_and_exits_1(
    approved, station, users, cue, monkeypatch, console_typing
):
    station.takes_approved_requests = False
    station.save()
    request = approved()

    def reader_error() -> None:
        from cardedge.transports import CardCommunicationError

        raise CardCommunicationError("the reader could not exchange the APDU: Transaction failed")

    cue("generate_9d", reader_error, before=True)
    _follow_with_a_worker(monkeypatch)
    with pytest.raises(CommandError) as caught:
        call_command(
            "personalize",
            request.pk,
            "--station",
            station.name,
            "--as-user",
            users[Role.ENCODING_OPERATOR].username,
            "--wait",
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    job = _job(request)
    assert caught.value.returncode == 1
    assert str(caught.value) == (
        f"job #{job.pk} failed at generate_9d: CardCommunicationError: "
        "the reader could not exchange the APDU: Transaction failed"
    )


def test_personalize_gives_up_waiting_with_exit_2(approved, station):
    job = _job(approved())
    err = io.StringIO()
    with pytest.raises(CommandError, match=r"still waiting after 0\.3 s") as caught:
        call_command(
            "personalize",
            job.card_request_id,
            "--station",
            station.name,
            "--wait",
            "--timeout",
            "0.3",
            stdout=io.StringIO(),
            stderr=err,
        )
    assert caught.value.returncode == 2


def test_personalize_needs_a_user_allowed_to_queue(approved, station, users, console_typing):
    station.takes_approved_requests = False
    station.save()
    request = approved()
    with pytest.raises(CommandError, match="--as-user is needed"):
        call_command("personalize", request.pk, "--station", station.name)
    with pytest.raises(CommandError, match="not allowed to queue"):
        call_command(
            "personalize",
            request.pk,
            "--station",
            station.name,
            "--as-user",
            users[Role.AUDITOR].username,
        )
    other = EncoderStation.objects.create(name="other", transport="emulated")
    call_command(
        "personalize",
        request.pk,
        "--station",
        other.name,
        "--as-user",
        users[Role.ENCODING_OPERATOR].username,
        stdout=io.StringIO(),
    )
    with pytest.raises(CommandError, match=r"already has job #\d+ on station other"):
        call_command("personalize", request.pk, "--station", station.name)


# --- emulate_card --card ----------------------------------------------------------------------


def test_emulate_card_serves_a_stored_card_and_saves_its_changes_back(approved):
    job = _job(approved())
    job_run(job_id=job.pk, worker="test")
    job.refresh_from_db()
    card = job.card
    pin, _ = pin_mailer_secrets(card.pin_mailer)
    serial = card.emulated_card.serial

    vpcd = FakeVpcd()
    answers: dict[str, bytes] = {}

    def pcsc_client() -> None:
        try:
            vpcd.accept()
            answers["select"] = vpcd.exchange(bytes.fromhex("00 A4 04 00 05 A0 00 00 03 08"))
            answers["serial"] = vpcd.exchange(bytes.fromhex("00 F8 00 00"))
            answers["wrong pin"] = vpcd.exchange(
                bytes.fromhex("00 20 00 80 08") + b"000000\xff\xff"
            )
            answers["pin"] = vpcd.exchange(
                bytes.fromhex("00 20 00 80 08") + pin.reveal().ljust(8, b"\xff")
            )
        finally:
            os.kill(os.getpid(), signal.SIGTERM)

    driver = threading.Thread(target=pcsc_client, daemon=True)
    driver.start()
    out = io.StringIO()
    try:
        call_command(
            "emulate_card", "--vpcd", f"127.0.0.1:{vpcd.port}", "--card", serial, stdout=out
        )
    finally:
        driver.join(5)
        vpcd.close()
    assert answers["select"][-2:] == b"\x90\x00"
    assert int.from_bytes(answers["serial"][:-2], "big") == serial
    assert (answers["wrong pin"], answers["pin"]) == (b"\x63\xc2", b"\x90\x00")
    assert f"stored in the database as emulated card {serial}" in out.getvalue()
    assert pin.reveal().decode() not in out.getvalue()

    # The wrong try was counted, then the right PIN reset the counter: saved in the database.
    client = PivClient.connect(EmulatedTransport(emulated_card_open(card.emulated_card)))
    assert client.pin_status().retries_left == 3
    client.verify_pin(pin)


def test_emulate_card_refuses_unknown_busy_and_mixed_up_cards(approved, cue):
    with pytest.raises(CommandError, match="no emulated card 4242"):
        call_command("emulate_card", "--vpcd", "127.0.0.1:1", "--card", "4242")
    with pytest.raises(CommandError, match="not allowed with argument"):
        call_command("emulate_card", "--vpcd", "127.0.0.1:1", "--card", "4242", "--state", "x")
    with pytest.raises(CommandError, match="--serial: a stored card keeps its serial"):
        call_command("emulate_card", "--vpcd", "127.0.0.1:1", "--card", "4242", "--serial", "1")

    job = _job(approved())
    cue("generate_9a")
    with pytest.raises(SimulatedCrash):
        job_run(job_id=job.pk, worker="dies")
    job.refresh_from_db()
    with pytest.raises(CommandError, match=f"is card {job.card.serial}, being personalized"):
        call_command(
            "emulate_card", "--vpcd", "127.0.0.1:1", "--card", job.card.emulated_card.serial
        )


def test_emulate_card_create_stores_a_blank_card(db):
    vpcd = FakeVpcd()

    def stop_when_inserted() -> None:
        try:
            vpcd.accept()
            vpcd.exchange(bytes.fromhex("00 20 00 80 08") + b"123456\xff\xff")
        finally:
            os.kill(os.getpid(), signal.SIGTERM)

    driver = threading.Thread(target=stop_when_inserted, daemon=True)
    driver.start()
    try:
        call_command(
            "emulate_card",
            "--vpcd",
            f"127.0.0.1:{vpcd.port}",
            "--card",
            "55500001",
            "--create",
            stdout=io.StringIO(),
        )
    finally:
        driver.join(5)
        vpcd.close()
    stored = EmulatedCard.objects.get(serial=55500001)
    client = PivClient.connect(EmulatedTransport(emulated_card_open(stored)))
    client.verify_pin(Pin("123456"))
