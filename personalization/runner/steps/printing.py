"""print_card_face: this card's face, printed by the station's card printer over IPP
(personalization/printing.py), before or after the chip is encoded as the station says.

Crash-safe like every step, and never printing one card twice: the print is recorded
(CardPrint) as soon as the printer took it, before waiting for it. Run again after a crash, the
step finds that record, or the printer's job of the same name when the crash came between
sending and recording, and waits for that print. A print the printer aborted or canceled spoils
the physical card (audited): the job fails and is retried on a new blank card. A printer that
refuses the job, cannot be reached or stays stopped fails the job before anything is printed.
"""

from __future__ import annotations

import contextlib
import hashlib
import time

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.events import EventType
from audit.services import audit_record
from config.errors import DomainError
from config.statements import update_where
from personalization.documents.render import card_face_pdf
from personalization.models import CardPrint, EncoderStation, PrintSides
from personalization.printing import (
    PrinterError,
    PrinterUnreachable,
    PrintJob,
    print_job_named,
    print_job_state,
    print_job_submit,
    printer_state,
    printer_uri,
)
from personalization.runner.steps.base import StepContext
from personalization.services.documents import card_document_data

POLL_SECONDS = 0.5


class PrintFailed(DomainError):
    code = "print_failed"


def _station_state(station: EncoderStation, described: str) -> None:
    """What the printer last said, for the station's page."""
    update_where(
        EncoderStation,
        {"printer_state": described[:200], "printer_checked_at": timezone.now()},
        {"id": station.pk},
    )


def _deadline() -> float:
    return time.monotonic() + settings.CARDFORGE_PRINT_TIMEOUT_SECONDS


def _wait_ready(uri: str, station: EncoderStation) -> None:
    """Until the printer accepts jobs (media loaded, not stopped); PrintFailed at the timeout."""
    deadline = _deadline()
    while True:
        try:
            state = printer_state(uri)
        except PrinterError as error:
            _station_state(station, "unreachable")
            raise PrintFailed(str(error)) from None
        _station_state(station, state.describe())
        if state.ready:
            return
        if time.monotonic() > deadline:
            msg = f"the printer is {state.describe()}: nothing was printed"
            raise PrintFailed(msg)
        time.sleep(POLL_SECONDS)


def _wait_final(uri: str, station: EncoderStation, job_id: int) -> PrintJob:
    deadline = _deadline()
    checked = 0.0
    while True:
        try:
            job = print_job_state(uri, job_id)
        except PrinterError as error:
            raise PrintFailed(f"{error} while printing (IPP job {job_id})") from None
        if job.final:
            # The printer as the print leaves it (idle, or out of ribbon), for the station's page.
            with contextlib.suppress(PrinterError):
                _station_state(station, printer_state(uri).describe())
            return job
        if time.monotonic() - checked > 2:  # the station's page shows media and jam states
            checked = time.monotonic()
            try:
                _station_state(station, printer_state(uri).describe())
            except PrinterError:
                _station_state(station, "unreachable")
        if time.monotonic() > deadline:
            waited = settings.CARDFORGE_PRINT_TIMEOUT_SECONDS
            msg = f"IPP job {job_id} is still {job.state} after {waited} s"
            raise PrintFailed(msg)
        time.sleep(POLL_SECONDS)


def _job_name(ctx: StepContext) -> str:
    job = ctx.job
    return f"CardForge card {ctx.card.serial} job {job.pk}.{job.attempt}"


def _ended(record: CardPrint, job: PrintJob) -> None:
    """The print's final state recorded; a failed one spoils the card (audited)."""
    now = timezone.now()
    reasons = ", ".join(reason for reason in job.reasons if reason != "none")
    with transaction.atomic():
        update_where(
            CardPrint,
            {"state": job.state, "reasons": reasons[:300], "finished_at": now},
            {"id": record.pk},
        )
        record.state, record.reasons = job.state, reasons
        audit_record(
            event=EventType.CARD_PRINTED if job.state == "completed" else EventType.CARD_SPOILED,
            obj=record.card,
            payload={
                "card": record.card.serial,
                "job": record.job_id,
                "attempt": record.attempt,
                "printer": record.printer_uri,
                "ipp_job": record.ipp_job_id,
                "state": job.state,
                "reasons": reasons,
                "document_sha256": record.document_sha256,
            },
        )


def _send(ctx: StepContext, uri: str, printing: dict) -> CardPrint:
    """Render this card's face and send it; recorded as soon as the printer took it."""
    both = printing.get("sides", PrintSides.BOTH) == PrintSides.BOTH
    document = card_face_pdf(
        card_document_data(ctx.card), template=ctx.profile["documents"]["card_face"], back=both
    )
    station = ctx.job.station
    _wait_ready(uri, station)
    name = _job_name(ctx)
    record = CardPrint(
        job=ctx.job,
        attempt=ctx.job.attempt,
        card=ctx.card,
        printer_uri=uri,
        job_name=name,
        pages=2 if both else 1,
        document_sha256=hashlib.sha256(document).hexdigest(),
        sent_at=timezone.now(),
    )
    try:
        record.ipp_job_id = print_job_submit(
            uri, document, job_name=name, color=bool(printing.get("color", True))
        )
    except PrinterError as error:
        record.state, record.reasons, record.finished_at = (
            "refused",
            str(error)[:300],
            timezone.now(),
        )
        record.save()
        raise PrintFailed(f"{error}: nothing was printed") from None
    record.save()
    return record


def print_card_face(ctx: StepContext) -> dict:
    printing = ctx.job.printing
    uri = printer_uri(printing["uri"])
    record = (
        CardPrint.objects.filter(job=ctx.job, attempt=ctx.job.attempt)
        .exclude(state=CardPrint.State.REFUSED)
        .order_by("-pk")
        .first()
    )
    if record is None:
        # A crash between sending and recording: the printer knows the job by its name.
        try:
            found = print_job_named(uri, _job_name(ctx))
        except PrinterError as error:
            if isinstance(error, PrinterUnreachable):
                _station_state(ctx.job.station, "unreachable")
            raise PrintFailed(str(error)) from None
        if found is not None:
            record = CardPrint.objects.create(
                job=ctx.job,
                attempt=ctx.job.attempt,
                card=ctx.card,
                printer_uri=uri,
                job_name=_job_name(ctx),
                ipp_job_id=found.job_id,
                sent_at=timezone.now(),
            )
        else:
            record = _send(ctx, uri, printing)
    record.card = ctx.card
    if record.state == CardPrint.State.SENT:
        _ended(record, _wait_final(uri, ctx.job.station, record.ipp_job_id))
    if record.state != CardPrint.State.COMPLETED:
        msg = (
            f"the printer {record.state} the card face (IPP job {record.ipp_job_id}"
            f"{', ' + record.reasons if record.reasons else ''}): card {ctx.card.serial} is "
            "spoiled; retry the job on a new blank card"
        )
        raise PrintFailed(msg)
    return {
        "printer": uri,
        "ipp_job": record.ipp_job_id,
        "pages": record.pages,
        "document_sha256": record.document_sha256,
    }
