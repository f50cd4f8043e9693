"""In Chromium: an auditor opens the Reports page, shows a week's figures (the audit trail's
state, charts, the activity the services made), makes the signed report and downloads its PDF,
which poppler's pdfsig finds validly signed; on the pages they read, nothing can be changed.

The report's Celery tasks (the build, then the signer's turn) run eagerly in the live server's
thread, as the signer's worker would run them (tests hold the signer's secrets).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import expect

from accounts.roles import Role
from audit.events import EventType
from audit.models import AuditEvent
from cards.models import Card
from cards.services.card_requests import (
    card_request_approve,
    card_request_reject,
    card_request_submit,
)
from personalization.models import PersonalizationJob
from personalization.runner.engine import Outcome, job_run
from personalization.services import jobs as job_services
from personalization.services.stations import station_create
from pki.services.cas import pki_bootstrap
from reports.models import AuditReport
from tests.browser.conftest import sign_in
from tests.factories import OrganisationFactory, ProfessionalFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def report_tasks_run_here():
    from config.celery import app

    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous


def _pdfsig(pdf: Path) -> str | None:
    """pdfsig's output, or None when poppler-utils is missing (a failure when the environment
    requires its services, as CI does)."""
    if shutil.which("pdfsig") is None:
        if settings.CARDFORGE_REQUIRE_SERVICES:
            pytest.fail("pdfsig is required (CARDFORGE_REQUIRE_SERVICES=1): install poppler-utils")
        return None
    return subprocess.run(["pdfsig", str(pdf)], capture_output=True, text=True, check=False).stdout


def test_an_auditor_shows_a_period_and_downloads_the_signed_report(
    in_browser, monkeypatch, tmp_path, profiles, users, report_tasks_run_here
):
    pki_bootstrap(backend="software")  # the signer's reports key
    station_create(name="desk-1", transport="emulated", takes_approved_requests=True)
    monkeypatch.setattr(job_services, "_send", lambda job: None)  # the test runs the jobs
    officer, approver = users[Role.ENROLMENT_OFFICER], users[Role.APPROVING_OFFICER]
    organisation = OrganisationFactory()

    def submit():
        return card_request_submit(
            professional=ProfessionalFactory(organisation=organisation),
            profile=profiles["hpc-physician"],
            by=officer,
        )

    # Today: four requests submitted, two approved and personalized (one after the other: the
    # station is free again for the second), one rejected, one left waiting.
    for _ in range(2):
        approved = card_request_approve(card_request=submit(), by=approver)
        job = PersonalizationJob.objects.get(card_request=approved)
        assert job_run(job_id=job.pk, worker="test") is Outcome.DONE
    card_request_reject(card_request=submit(), by=approver, reason="RPPS number not confirmed")
    pending = submit()
    card = Card.objects.filter(status=Card.Status.PERSONALIZED).first()
    today = timezone.localdate()
    start = today - dt.timedelta(days=6)

    def show_make_and_download(page, base_url) -> tuple[bytes, str]:
        sign_in(page, base_url, users[Role.AUDITOR].username)  # no second factor asked
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Reports").click()
        expect(page.get_by_role("heading", name="Auditor dashboard")).to_be_visible()
        page.get_by_label("From").fill(start.isoformat())
        page.get_by_label("To").fill(today.isoformat())
        page.get_by_role("button", name="Show").click()
        expect(page).to_have_url(re.compile(rf"start={start.isoformat()}&end={today}"))

        expect(page.locator("#chain-state")).to_contain_text(
            re.compile(r"Audit trail intact: \d+ events verified")
        )
        expect(page.locator("#activity .chart svg").first).to_be_visible()
        days = page.locator("#table-activity_by_day tbody tr")
        expect(days).to_have_count(7)
        # Day, Submitted, Approved, Rejected, Cards personalized.
        expect(days.last.locator("td")).to_have_text([today.isoformat(), "4", "2", "1", "2"])
        expect(days.first.locator("td")).to_have_text([start.isoformat(), "0", "0", "0", "0"])
        submitted = page.locator("#activity .stat").filter(has_text="Card requests submitted")
        expect(submitted.locator(".n")).to_have_text("4")

        page.locator("#make-report").click()
        expect(page).to_have_url(re.compile(r"/reports/\d+/$"))
        expect(page.locator("#report-state")).to_have_text(
            "Ready: built and signed by the platform.", timeout=60_000
        )
        expect(page.locator("#download-csv")).to_be_visible()
        shown_sha256 = page.locator("dt:text-is('PDF SHA-256') + dd").inner_text()
        with page.expect_download() as download_info:
            page.locator("#download-pdf").click()
        return Path(download_info.value.path()).read_bytes(), shown_sha256

    pdf, shown_sha256 = in_browser(show_make_and_download)

    report = AuditReport.objects.get()
    assert (report.start, report.end, report.status) == (start, today, "ready")
    assert report.requested_by == users[Role.AUDITOR]
    assert pdf.startswith(b"%PDF")
    assert b"/ByteRange" in pdf  # signed
    assert hashlib.sha256(pdf).hexdigest() == shown_sha256 == report.pdf_sha256
    downloaded = AuditEvent.objects.get(event=EventType.REPORT_DOWNLOADED)
    assert (downloaded.actor, downloaded.payload["what"]) == (users[Role.AUDITOR].username, "pdf")

    def find_nothing_to_change(page, base_url) -> None:
        sign_in(page, base_url, users[Role.AUDITOR].username)
        page.goto(f"{base_url}/requests/{pending.pk}/")
        expect(page.locator("#request-status")).to_have_text("Submitted")
        expect(page.get_by_role("button", name="Approve")).to_have_count(0)
        expect(page.get_by_role("button", name="Reject")).to_have_count(0)
        expect(page.locator("main form[method=post]")).to_have_count(0)

        page.goto(f"{base_url}/professionals/{pending.professional_id}/")
        expect(page.get_by_role("button", name="Submit card request")).to_have_count(0)
        expect(page.get_by_role("link", name="Edit")).to_have_count(0)
        expect(page.locator("main form[method=post]")).to_have_count(0)

        page.goto(f"{base_url}/cards/{card.pk}/")
        expect(page.locator("#card-status")).to_have_text("Personalized")
        expect(page.locator("main form[method=post]")).to_have_count(0)

    in_browser(find_nothing_to_change)

    pdf_file = tmp_path / "report.pdf"
    pdf_file.write_bytes(pdf)
    checked = _pdfsig(pdf_file)
    if checked is None:
        pytest.skip("pdfsig (poppler-utils) is missing: everything but its check passed")
    assert "Signature Validation: Signature is Valid." in checked, checked
