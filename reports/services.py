"""Auditor reports: asked, built, signed, downloaded; each step audited (docs/reports.md).

A report is asked for by someone holding `reports.add_auditreport` (auditors, administrators):
it reads the platform and changes nothing of it but the report's own row and the audit trail.
A worker builds it (figures, charts, the PDF and the CSV files, with its progress recorded), then
the signer signs the PDF with the platform's reports key (pki/services/document_signing.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Callable

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.events import EventType
from audit.services import audit_record
from cardprofiles.models import CardProfile
from config.errors import Conflict, FieldError, NotAllowed, ValidationFailed
from issuance.models import Organisation
from personalization.models import EncoderStation
from reports.documents import report_pdf
from reports.figures import Parameters, report_figures
from reports.models import AuditReport
from reports.tables import report_csv_files, report_csv_zip

logger = logging.getLogger(__name__)

# Ten years and a bit: what a trust service keeps its records for (ETSI EN 319 401 7.10).
MAX_PERIOD_DAYS = 3700


def _check_period(start: dt.date | None, end: dt.date | None) -> None:
    errors = []
    today = timezone.localdate()
    if not isinstance(start, dt.date):
        errors.append(FieldError("start", "a date (YYYY-MM-DD) is needed"))
    if not isinstance(end, dt.date):
        errors.append(FieldError("end", "a date (YYYY-MM-DD) is needed"))
    if errors:
        raise ValidationFailed(errors)
    if end < start:
        errors.append(FieldError("end", f"must not be before the start ({start.isoformat()})"))
    if start > today:
        errors.append(FieldError("start", "must not be in the future"))
    if (end - start).days >= MAX_PERIOD_DAYS:
        errors.append(FieldError("end", f"a report covers at most {MAX_PERIOD_DAYS} days"))
    if errors:
        raise ValidationFailed(errors)


def report_parameters(report: AuditReport) -> Parameters:
    return Parameters(
        start=report.start,
        end=report.end,
        organisation=report.organisation,
        profile=report.card_profile,
        station=report.station,
    )


def report_request(
    *,
    start: dt.date,
    end: dt.date,
    by,
    organisation: Organisation | None = None,
    profile: CardProfile | None = None,
    station: EncoderStation | None = None,
    build: bool = True,
) -> AuditReport:
    """Ask for a report; a worker builds it once this commits (`build` False: the caller builds
    it itself, as `manage.py audit_report` does with its progress bar)."""
    if by is not None and not by.has_perm("reports.add_auditreport"):
        raise NotAllowed("you may not ask for auditor reports")
    _check_period(start, end)
    with transaction.atomic():
        report = AuditReport.objects.create(
            start=start,
            end=end,
            organisation=organisation,
            card_profile=profile,
            station=station,
            requested_by=by if getattr(by, "is_authenticated", False) else None,
            requested_at=timezone.now(),
        )
        audit_record(
            event=EventType.REPORT_REQUESTED,
            actor=by,
            obj=report,
            payload={
                "start": start.isoformat(),
                "end": end.isoformat(),
                "organisation": organisation.pk if organisation else None,
                "profile": profile.name if profile else None,
                "station": station.name if station else None,
            },
        )
        if build:
            transaction.on_commit(lambda: _send_build(report.pk))
    return report


def _send_build(report_id: int) -> None:
    from reports.tasks import report_build as build_task

    build_task.delay(report_id)


def _send_sign(report_id: int) -> None:
    from reports.tasks import report_sign as sign_task

    sign_task.apply_async(args=[report_id], queue=settings.CARDFORGE_SIGNER_QUEUE)


def _progress(report_id: int, percent: int, stage: str) -> None:
    AuditReport.objects.filter(pk=report_id).update(progress=percent, stage=stage[:100])


def report_build(
    report_id: int, *, progress: Callable[[int, str], None] | None = None, sign: bool = True
) -> AuditReport | None:
    """Build a queued report (a worker; safe to run twice: one that is no longer queued is left
    alone), then send it to the signer (`sign`)."""
    claimed = AuditReport.objects.filter(pk=report_id, status=AuditReport.Status.QUEUED).update(
        status=AuditReport.Status.BUILDING, progress=1, stage="starting"
    )
    if not claimed:
        return None
    report = AuditReport.objects.select_related("organisation", "card_profile", "station").get(
        pk=report_id
    )

    def step(percent: int, stage: str) -> None:
        _progress(report_id, percent, stage)
        if progress is not None:
            progress(percent, stage)

    try:
        figures = report_figures(report_parameters(report), progress=step)
        step(60, "writing the CSV files")
        files = report_csv_files(figures)
        csv_zip = report_csv_zip(figures, files)
        step(65, "drawing the charts and the PDF")
        pdf = report_pdf(figures, files)
    except Exception as error:
        logger.exception("report %s could not be built", report_id)
        report_failed(report_id, f"{type(error).__name__}: {str(error)[:300]}")
        raise
    AuditReport.objects.filter(pk=report_id).update(
        status=AuditReport.Status.SIGNING,
        progress=90,
        stage="being signed",
        pdf=pdf,
        csv_zip=csv_zip,
    )
    if progress is not None:
        progress(90, "being signed")
    if sign:
        _send_sign(report_id)
    report.refresh_from_db()
    return report


def report_sign_send(report: AuditReport) -> None:
    """Ask the signer to sign a built report (`manage.py audit_report`)."""
    _send_sign(report.pk)


def report_signed(report_id: int, *, sign: Callable[[bytes], bytes]) -> AuditReport | None:
    """The signer signs the built PDF with `sign` (its reports key); the report is ready."""
    report = AuditReport.objects.filter(pk=report_id, status=AuditReport.Status.SIGNING).first()
    if report is None:
        return None
    signed = sign(bytes(report.pdf))
    digest = hashlib.sha256(signed).hexdigest()
    with transaction.atomic():
        updated = AuditReport.objects.filter(
            pk=report_id, status=AuditReport.Status.SIGNING
        ).update(
            status=AuditReport.Status.READY,
            pdf=signed,
            pdf_sha256=digest,
            progress=100,
            stage="",
            finished_at=timezone.now(),
        )
        if not updated:
            return None
        audit_record(
            event=EventType.REPORT_READY,
            obj=report,
            payload={"pdf_sha256": digest, "bytes": len(signed)},
        )
    report.refresh_from_db()
    return report


def report_failed(report_id: int, message: str) -> None:
    with transaction.atomic():
        updated = (
            AuditReport.objects.filter(pk=report_id)
            .exclude(status__in=[AuditReport.Status.READY, AuditReport.Status.FAILED])
            .update(
                status=AuditReport.Status.FAILED,
                error=message[:500],
                stage="",
                finished_at=timezone.now(),
            )
        )
        if updated:
            audit_record(
                event=EventType.REPORT_FAILED,
                object_type="reports.auditreport",
                object_id=str(report_id),
                payload={"error": message[:300]},
            )


def report_download(*, report: AuditReport, what: str, by) -> bytes:
    """The signed PDF (`what` "pdf") or the CSV zip ("csv") of a ready report; audited."""
    if by is not None and not by.has_perm("reports.view_auditreport"):
        raise NotAllowed("you may not read auditor reports")
    if report.status != AuditReport.Status.READY:
        raise Conflict(
            f"report {report.pk} is {report.get_status_display().lower()}", field="report"
        )
    data = bytes(report.pdf) if what == "pdf" else bytes(report.csv_zip)
    with transaction.atomic():
        audit_record(
            event=EventType.REPORT_DOWNLOADED,
            actor=by,
            obj=report,
            payload={"what": what, "sha256": hashlib.sha256(data).hexdigest()},
        )
    return data
