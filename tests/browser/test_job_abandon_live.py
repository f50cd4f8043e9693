"""In Chromium: an encoding operator watches a running job whose worker goes silent; without a
reload, the page offers to abandon it once it is stalled, and abandoning it (reason required)
shows the job failed and offers a retry."""

from __future__ import annotations

import threading

import pytest
from playwright.sync_api import expect

from accounts.roles import Role
from cardprofiles.services.versions import card_profile_sync_builtin
from cards.services.card_requests import card_request_approve, card_request_submit
from personalization.models import EncoderStation, PersonalizationJob
from personalization.services import jobs as job_services
from personalization.services.stations import station_create
from tests.browser.conftest import sign_in
from tests.factories import OrganisationFactory, ProfessionalFactory, make_user
from tests.personalization.jobs.conftest import age_heartbeat

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REASON = "desk-1 decommissioned"


def test_the_abandon_form_appears_once_the_job_stalls(in_browser, monkeypatch):
    profiles = {r.version.profile.name: r.version.profile for r in card_profile_sync_builtin()}
    station = station_create(name="desk-1", transport="emulated", takes_approved_requests=True)
    monkeypatch.setattr(job_services, "_send", lambda job: None)
    card_request = card_request_approve(
        card_request=card_request_submit(
            professional=ProfessionalFactory(organisation=OrganisationFactory()),
            profile=profiles["hpc-physician"],
            by=make_user(Role.ENROLMENT_OFFICER),
        ),
        by=make_user(Role.APPROVING_OFFICER),
    )
    make_user(Role.ENCODING_OPERATOR, username="olga")
    job = PersonalizationJob.objects.get(card_request=card_request)
    # A worker holds the job (before it began a card) and reports.
    age_heartbeat(job, seconds=1)
    PersonalizationJob.objects.filter(pk=job.pk).update(status="running", lease_owner="w")
    EncoderStation.objects.filter(pk=station.pk).update(busy_job=job)
    page_shows_it_running = threading.Event()

    def watch_then_abandon(page, base_url) -> None:
        sign_in(page, base_url, "olga")
        page.goto(f"{base_url}/jobs/{job.pk}/")
        expect(page.locator("#job-status")).to_have_text("Running")
        expect(page.get_by_role("heading", name="Abandon this job")).to_be_hidden()
        page.evaluate("window.notReloaded = true")
        page_shows_it_running.set()

        # The worker went silent: the live page offers the form.
        expect(page.get_by_role("heading", name="Abandon this job")).to_be_visible()
        assert page.evaluate("window.notReloaded") is True
        page.get_by_role("button", name="Abandon this job").click()
        # The browser refuses an empty reason (required); then a reason is given.
        expect(page.locator("#job-status")).to_have_text("Running")
        page.get_by_label("Reason").fill(REASON)
        page.get_by_role("button", name="Abandon this job").click()
        expect(page.get_by_role("status")).to_contain_text(f"Job #{job.pk} is abandoned")
        expect(page.locator("#job-status")).to_have_text("Failed")
        expect(page.get_by_role("button", name="Retry on a new card")).to_be_visible()
        expect(page.get_by_role("heading", name="Abandon this job")).to_have_count(0)

    watching = in_browser.start(watch_then_abandon)
    if not page_shows_it_running.wait(30):
        watching.result(timeout=1)  # raises the browser's failure, if that is why
        pytest.fail("the page never showed the running job")
    age_heartbeat(job)
    watching.result(timeout=60)

    job.refresh_from_db()
    assert (job.status, job.error_code, job.error_message) == ("failed", "abandoned", REASON)
    station.refresh_from_db()
    assert station.busy_job_id is None
