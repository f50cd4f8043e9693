"""The card face printed as a step of the job, by a real IPP printer (`ippeveprinter`, which
keeps every document it receives): one print per card, whatever happens to the worker; a
printer that refuses or aborts fails the job cleanly, and the job is retried on a new card."""

from __future__ import annotations

import subprocess

import pytest

from accounts.roles import Role
from audit.events import EventType
from audit.models import AuditEvent
from cards.models import Card
from personalization.models import CardPrint, EncoderStation, JobStep, PersonalizationJob
from personalization.runner.engine import Outcome, job_run
from personalization.runner.plan import PRINT_STEP, step_names
from personalization.runner.steps import printing as print_step
from personalization.services.jobs import job_retry
from personalization.services.stations import station_update
from pki.models import Certificate
from tests.personalization.jobs.conftest import age_heartbeat
from tests.personalization.jobs.cues import SimulatedCrash
from tests.personalization.jobs.virtual_printer import VirtualPrinter

pytestmark = [pytest.mark.printer, pytest.mark.django_db]
# ISO/IEC 7810 ID-1 in PDF points (1/72 inch): 85.60 x 53.98 mm.
ID1_POINTS = (242.65, 153.01)


@pytest.fixture
def printers(tmp_path):
    """printers(**options) -> a running VirtualPrinter; all stopped (by PID) after the test."""
    started: list[VirtualPrinter] = []

    def start(**options) -> VirtualPrinter:
        started.append(VirtualPrinter.start(tmp_path / f"printer-{len(started)}", **options))
        return started[-1]

    yield start
    for printer in started:
        printer.stop()


@pytest.fixture
def fast_timeout(settings):
    settings.CARDFORGE_PRINT_TIMEOUT_SECONDS = 3


def _with_printer(station, users, printer_uri: str, **settings) -> EncoderStation:
    return station_update(
        station=station, by=users[Role.ADMINISTRATOR], printer_uri=printer_uri, **settings
    )


def _pdf_facts(path) -> tuple[int, tuple[float, float], str]:
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    lines = dict(line.split(":", 1) for line in info.stdout.splitlines() if ":" in line)
    pages = int(lines["Pages"])
    width, _x, height, *_ = lines["Page size"].split()
    text = subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    return pages, (float(width), float(height)), text


@pytest.mark.poppler
def test_the_card_face_is_printed_after_encoding_one_id1_page_per_side(
    approved, station, users, printers
):
    printer = printers()
    _with_printer(station, users, printer.uri)
    job = PersonalizationJob.objects.get(card_request=approved())
    assert job_run(job_id=job.pk, worker="w1") is Outcome.DONE

    job.refresh_from_db()
    names = step_names(job)
    assert names[-2:] == [PRINT_STEP, "finish"]
    assert names[-3] == "quality_check"
    card = Card.objects.get(pk=job.card_id)
    (received,) = printer.received()
    pages, size, text = _pdf_facts(received)
    assert pages == 2
    assert size == pytest.approx(ID1_POINTS, abs=0.5)
    assert card.serial in text.replace(" ", "")
    holder = card.card_request.snapshot
    assert holder.last_name.upper() in text.upper()
    (record,) = CardPrint.objects.all()
    assert (record.state, record.card_id, record.pages) == ("completed", card.pk, 2)
    assert str(record.ipp_job_id) == received.name.split("-", 1)[0]
    printed = AuditEvent.objects.get(event=EventType.CARD_PRINTED)
    assert printed.payload["ipp_job"] == record.ipp_job_id
    assert JobStep.objects.get(job=job, name=PRINT_STEP).detail["ipp_job"] == record.ipp_job_id
    station.refresh_from_db()  # as the print left the printer, not as it was while printing
    assert station.printer_state == "idle"


@pytest.mark.poppler
def test_a_station_printing_before_encoding_prints_right_after_the_card_is_identified(
    approved, station, users, printers
):
    printer = printers()
    _with_printer(station, users, printer.uri, printer_placement="before", printer_sides="front")
    job = PersonalizationJob.objects.get(card_request=approved())
    assert step_names(job)[:3] == ["identify_card", PRINT_STEP, "authenticate"]
    assert job_run(job_id=job.pk, worker="w1") is Outcome.DONE
    (received,) = printer.received()
    assert _pdf_facts(received)[0] == 1  # front only


def test_a_printer_that_refuses_the_document_fails_the_job_cleanly_then_it_is_retried(
    approved, station, users, printers
):
    refusing = printers(formats="image/pwg-raster")  # takes no PDF
    _with_printer(station, users, refusing.uri)
    job = PersonalizationJob.objects.get(card_request=approved())
    assert job_run(job_id=job.pk, worker="w1") is Outcome.FAILED

    job.refresh_from_db()
    assert job.error_code == "PrintFailed"
    assert "refused" in job.error_message
    assert "nothing was printed" in job.error_message
    failed_card = Card.objects.get(pk=job.card_id)
    assert failed_card.status == Card.Status.FAILED
    assert not Certificate.objects.for_card(failed_card).valid().exists()
    assert refusing.received() == []
    assert CardPrint.objects.get().state == "refused"

    # The operator points the station at a working printer and retries: a new blank card.
    working = printers()
    _with_printer(station, users, working.uri)
    job = job_retry(job=job, by=users[Role.ENCODING_OPERATOR])
    assert job_run(job_id=job.pk, worker="w2") is Outcome.DONE
    job.refresh_from_db()
    assert job.card_id != failed_card.pk
    assert len(working.received()) == 1
    assert CardPrint.objects.filter(state="completed").count() == 1


def test_a_print_the_printer_aborts_spoils_the_card_and_the_job_can_be_retried(
    approved, station, users, printers
):
    jammed = printers(command="/bin/false")  # its print command fails: the job is aborted
    _with_printer(station, users, jammed.uri)
    job = PersonalizationJob.objects.get(card_request=approved())
    assert job_run(job_id=job.pk, worker="w1") is Outcome.FAILED
    job.refresh_from_db()
    assert "spoiled" in job.error_message
    assert "retry the job on a new blank card" in job.error_message
    spoiled = AuditEvent.objects.get(event=EventType.CARD_SPOILED)
    assert spoiled.payload["state"] == "aborted"
    assert spoiled.object_id == str(job.card_id)
    assert job.status == PersonalizationJob.Status.FAILED


def test_an_unreachable_printer_fails_the_job_and_the_station_says_so(
    approved, station, users, fast_timeout
):
    _with_printer(station, users, "ipp://localhost:9/ipp/print")  # nothing listens there
    job = PersonalizationJob.objects.get(card_request=approved())
    assert job_run(job_id=job.pk, worker="w1") is Outcome.FAILED
    job.refresh_from_db()
    assert "cannot be reached" in job.error_message
    station.refresh_from_db()
    assert station.printer_state == "unreachable"
    assert station.printer_checked_at is not None


def test_a_worker_killed_while_the_card_prints_does_not_print_it_twice(
    approved, station, users, printers, monkeypatch
):
    printer = printers()
    _with_printer(station, users, printer.uri)
    job = PersonalizationJob.objects.get(card_request=approved())
    waiting = print_step._wait_final

    def killed(*args, **kwargs):
        raise SimulatedCrash("print_card_face")

    monkeypatch.setattr(print_step, "_wait_final", killed)
    with pytest.raises(SimulatedCrash):
        job_run(job_id=job.pk, worker="dies-while-printing")
    monkeypatch.setattr(print_step, "_wait_final", waiting)
    assert CardPrint.objects.get().state == "sent"

    age_heartbeat(job)
    assert job_run(job_id=job.pk, worker="resumes") is Outcome.DONE
    assert len(printer.received()) == 1
    (record,) = CardPrint.objects.all()
    assert record.state == "completed"


def test_a_worker_killed_between_sending_and_recording_the_print_finds_it_by_name(
    approved, station, users, printers, monkeypatch
):
    printer = printers()
    _with_printer(station, users, printer.uri)
    job = PersonalizationJob.objects.get(card_request=approved())
    recording = CardPrint.save

    def killed(self, *args, **kwargs):
        raise SimulatedCrash("print_card_face")

    monkeypatch.setattr(CardPrint, "save", killed)
    with pytest.raises(SimulatedCrash):
        job_run(job_id=job.pk, worker="dies-after-sending")
    monkeypatch.setattr(CardPrint, "save", recording)
    assert not CardPrint.objects.exists()
    assert len(printer.received()) <= 1  # sent, perhaps still printing

    age_heartbeat(job)
    assert job_run(job_id=job.pk, worker="resumes") is Outcome.DONE
    assert len(printer.received()) == 1
    (record,) = CardPrint.objects.all()
    assert record.state == "completed"
    assert str(record.ipp_job_id) == printer.received()[0].name.split("-", 1)[0]


def test_printer_settings_are_checked_and_audited(station, users):
    from config.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as refused:
        station_update(
            station=station,
            by=users[Role.ADMINISTRATOR],
            printer_uri="http://printer/",
            printer_sides="three",
        )
    assert {error.field for error in refused.value.errors} == {"printer_uri", "printer_sides"}
    station = station_update(
        station=station, by=users[Role.ADMINISTRATOR], printer_uri="Evolis_Primacy"
    )
    event = AuditEvent.objects.filter(event=EventType.STATION_UPDATED).last()
    assert event.payload["changed"] == {"printer_uri": {"from": "", "to": "Evolis_Primacy"}}
