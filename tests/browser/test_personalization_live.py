"""In Chromium: an approving officer approves a card request and watches its personalization
job reach "Personalized" on the request's page without reloading it; an encoding operator then
downloads the card's PIN mailer once, and a second download is refused.

The test thread plays the station's worker: it runs the job in process (`job_run`) once the
page shows the job waiting, while the page keeps polling. The approval's Celery message is
caught instead of going to a broker.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from playwright.sync_api import expect

from accounts.roles import Role
from audit.events import EventType
from audit.models import AuditEvent
from cardprofiles.services.versions import card_profile_sync_builtin
from cards.models import Card, CardRequest, PinMailer
from cards.services.card_requests import card_request_submit
from personalization.models import PersonalizationJob
from personalization.runner.engine import Outcome, job_run, step_names
from personalization.services import jobs as job_services
from personalization.services.stations import station_create
from pki.services.cas import pki_bootstrap
from tests.browser.conftest import sign_in
from tests.factories import OrganisationFactory, ProfessionalFactory, make_totp_device, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PIN_MAILER_BUTTON = "Download the PIN mailer (once)"


def _wait(event: threading.Event, future, what: str) -> None:
    """Wait for the browser to reach a point, failing at once if its steps fail first."""
    for _ in range(300):
        if event.wait(0.1):
            return
        if future.done():
            future.result()  # raises the browser's failure
            pytest.fail(f"the browser finished before {what}")
    pytest.fail(f"the browser never reached {what}")


def test_approver_watches_the_job_and_operator_downloads_the_pin_mailer_once(
    in_browser, monkeypatch
):
    profiles = {r.version.profile.name: r.version.profile for r in card_profile_sync_builtin()}
    pki_bootstrap(backend="software")
    station_create(name="desk-1", transport="emulated", takes_approved_requests=True)
    enrolment = make_user(Role.ENROLMENT_OFFICER, username="emma")
    arthur_key = make_totp_device(make_user(Role.APPROVING_OFFICER, username="arthur")).bin_key
    make_user(Role.ENCODING_OPERATOR, username="olga")
    professional = ProfessionalFactory(
        first_name="Maëlle", last_name="Dubois-Légaré", organisation=OrganisationFactory()
    )
    card_request = card_request_submit(
        professional=professional,
        profile=profiles["hpc-physician"],
        by=enrolment,
    )
    sent: list[int] = []
    monkeypatch.setattr(job_services, "_send", lambda job: sent.append(job.pk))
    waiting_shown = threading.Event()

    def approve_and_watch(page, base_url) -> str:
        sign_in(page, base_url, "arthur", totp_key=arthur_key)
        page.goto(f"{base_url}/requests/{card_request.pk}/")
        page.get_by_label("Decision note").fill("Identity checked against the RPPS register.")
        page.get_by_role("button", name="Approve").click()
        expect(page.locator("#request-status")).to_have_text("Approved")
        expect(page.locator("#job-status")).to_have_text("Waiting")
        expect(page.locator("#job-bar")).to_have_attribute("value", "0")
        expect(page.get_by_text("Approved: being personalized")).to_be_visible()
        # Anything set on this page survives only if it is never reloaded.
        page.evaluate("window.notReloaded = true")
        waiting_shown.set()

        expect(page.locator("#job-status")).to_have_text("Personalized", timeout=30_000)
        total = page.locator("#job-bar").get_attribute("max")
        expect(page.locator("#job-bar")).to_have_attribute("value", total)
        expect(page.locator("[data-step='quality_check'] [data-step-state]")).to_have_text("done")
        expect(page.locator("#request-status")).to_have_text("Card personalized")
        expect(page.get_by_text("The card is personalized.")).to_be_visible()
        expect(page.get_by_text("Approved: being personalized")).to_be_hidden()
        expect(page.locator("[data-job-card-link]")).to_be_visible()
        assert page.evaluate("window.notReloaded") is True
        return page.locator("[data-job-card-link]").inner_text()

    watching = in_browser.start(approve_and_watch)
    _wait(waiting_shown, watching, "the waiting job")
    job = PersonalizationJob.objects.get(card_request=card_request)
    assert sent == [job.pk]  # queued on approval, sent once the approval committed
    assert job_run(job_id=job.pk, worker="test") is Outcome.DONE
    serial = watching.result(timeout=60)

    card = Card.objects.get(serial=serial)
    assert card.status == Card.Status.PERSONALIZED
    assert card.professional == professional
    assert job.steps.count() == len(step_names(job))
    card_request.refresh_from_db()
    assert card_request.status == CardRequest.Status.COMPLETED

    def download_pin_mailer_once(page, base_url) -> bytes:
        sign_in(page, base_url, "olga")
        page.get_by_role("link", name="Cards", exact=True).click()
        page.get_by_role("link", name=serial).click()
        expect(page.locator("#card-status")).to_have_text("Personalized")
        with page.expect_download() as download_info:
            page.get_by_role("button", name=PIN_MAILER_BUTTON).click()
        download = download_info.value
        assert download.suggested_filename == f"pin-mailer-{serial}.pdf"
        content = Path(download.path()).read_bytes()

        # The page still shows the button it was loaded with: a second try is refused.
        page.get_by_role("button", name=PIN_MAILER_BUTTON).click()
        expect(page.get_by_role("status")).to_contain_text("was already downloaded")
        expect(page.get_by_role("button", name=PIN_MAILER_BUTTON)).to_have_count(0)
        expect(page.locator("#pin-mailer-downloaded")).to_contain_text("by olga")
        return content

    pdf = in_browser(download_pin_mailer_once)
    assert pdf.startswith(b"%PDF")
    mailer = PinMailer.objects.get(card=card)
    assert mailer.sealed is None
    assert mailer.downloaded_by.username == "olga"
    assert (
        AuditEvent.objects.filter(
            event=EventType.PIN_MAILER_DOWNLOADED, object_id=str(card.pk)
        ).count()
        == 1
    )
