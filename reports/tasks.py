"""Celery tasks of the reports: thin wrappers around reports/services.py."""

from __future__ import annotations

from celery import shared_task

from reports.services import report_build as build
from reports.services import report_failed, report_signed


@shared_task(acks_late=True, ignore_result=True)
def report_build(report_id: int) -> None:
    """On the default queue: figures, charts, PDF and CSV, then the signer's turn."""
    build(report_id)


@shared_task(acks_late=True, ignore_result=True)
def report_sign(report_id: int) -> None:
    """On the signer's queue (CELERY_TASK_ROUTES): the PDF signed with the reports key."""
    from pki.services.document_signing import pdf_sign

    try:
        report_signed(
            report_id,
            sign=lambda pdf: pdf_sign(pdf, reason="CardForge audit report, issued by the platform"),
        )
    except Exception as error:
        report_failed(report_id, f"could not be signed: {type(error).__name__}: {str(error)[:200]}")
        raise
