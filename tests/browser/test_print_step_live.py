"""In Chromium: an encoding operator watches a job on a station with a card printer (a virtual
IPP printer, `ippeveprinter`); without reloading, the page shows the card face being printed
after encoding, then printed, and the job personalized. The printer received one document,
the card's face, and the station list names the printer.

The test thread plays the station's worker (`job_run`, as in test_personalization_live.py).
Without a print command ippeveprinter "prints" by sleeping a random 5 to 15 s; with
`/bin/true` as its command it completes each job at once, still keeping the document. The
print is instead held until the page has shown it under way: a fast one would otherwise end
between two of the page's one-second polls.
"""

from __future__ import annotations

import subprocess
import threading

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from accounts.roles import Role
from cardprofiles.services.versions import card_profile_sync_builtin
from cards.models import Card
from cards.services.card_requests import card_request_approve, card_request_submit
from personalization.models import CardPrint, PersonalizationJob
from personalization.runner.engine import Outcome, job_run
from personalization.runner.plan import PRINT_STEP, STEP_LABELS
from personalization.runner.steps import printing as print_step
from personalization.services import jobs as job_services
from personalization.services.stations import station_create, station_update
from pki.services.cas import pki_bootstrap
from tests.browser.conftest import sign_in
from tests.factories import OrganisationFactory, ProfessionalFactory, make_user
from tests.personalization.jobs.virtual_printer import VirtualPrinter

pytestmark = [
    pytest.mark.browser,
    pytest.mark.printer,
    pytest.mark.poppler,
    pytest.mark.django_db(transaction=True),
]

PRINT_LABEL = "Print the card face on the station's printer"
JOB_MS = 20_000  # what the page waits for the running job to show each change
HOLD_SECONDS = 25  # longer than JOB_MS: a page that never shows the print fails first


@pytest.fixture
def printer(tmp_path):
    started = VirtualPrinter.start(tmp_path / "printer", command="/bin/true")
    yield started
    started.stop()


def _wait(event: threading.Event, future, what: str) -> None:
    """Wait for the browser to reach a point, failing at once if its steps fail first."""
    for _ in range(300):
        if event.wait(0.1):
            return
        if future.done():
            future.result()  # raises the browser's failure
            pytest.fail(f"the browser finished before {what}")
    pytest.fail(f"the browser never reached {what}")


def test_the_operator_watches_the_card_face_print_after_encoding(in_browser, printer, monkeypatch):
    assert STEP_LABELS[PRINT_STEP] == PRINT_LABEL
    profiles = {r.version.profile.name: r.version.profile for r in card_profile_sync_builtin()}
    pki_bootstrap(backend="software")
    station = station_create(name="desk-1", transport="emulated", takes_approved_requests=True)
    station_update(
        station=station,
        by=make_user(Role.ADMINISTRATOR),
        printer_uri=printer.uri,
        printer_placement="after",
    )
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
    job_page, station_page = reverse("job-detail", args=[job.pk]), reverse("station-list")

    waiting_shown, printing_shown = threading.Event(), threading.Event()
    waited_for_page: list[bool] = []
    wait_final = print_step._wait_final

    def held_until_seen(*args, **kwargs):
        # The printer has the job (recorded as sent); it ends once the page has shown it.
        waited_for_page.append(printing_shown.wait(HOLD_SECONDS))
        return wait_final(*args, **kwargs)

    monkeypatch.setattr(print_step, "_wait_final", held_until_seen)

    def watch(page, base_url) -> str:
        sign_in(page, base_url, "olga")
        page.goto(f"{base_url}{job_page}")
        expect(page.locator("#job-status")).to_have_text("Waiting")
        steps = page.locator("tr[data-step]")
        names = [steps.nth(i).get_attribute("data-step") for i in range(steps.count())]
        assert names[-3:] == ["quality_check", PRINT_STEP, "finish"]  # printed after encoding
        print_row = page.get_by_role("row").filter(has_text=PRINT_LABEL)
        expect(print_row.locator("[data-step-state]")).to_have_text("pending")
        page.evaluate("window.notReloaded = true")
        waiting_shown.set()

        expect(print_row.locator("[data-step-state]")).to_have_text("current", timeout=JOB_MS)
        expect(page.locator("#job-status")).to_have_text("Running")
        expect(page.locator("[data-job-current]")).to_have_text(f"· {PRINT_LABEL}")
        quality_row = page.get_by_role("row").filter(has_text=STEP_LABELS["quality_check"])
        expect(quality_row.locator("[data-step-state]")).to_have_text("done")
        printing_shown.set()

        expect(print_row.locator("[data-step-state]")).to_have_text("done", timeout=JOB_MS)
        expect(page.locator("#job-status")).to_have_text("Personalized", timeout=JOB_MS)
        total = page.locator("#job-bar").get_attribute("max")
        expect(page.locator("#job-bar")).to_have_attribute("value", total)
        assert page.evaluate("window.notReloaded") is True
        return page.locator("[data-job-card-link]").inner_text()

    watching = in_browser.start(watch)
    _wait(waiting_shown, watching, "the waiting job")
    assert job_run(job_id=job.pk, worker="test") is Outcome.DONE
    serial = watching.result(timeout=30)
    assert waited_for_page == [True]  # the print ended only after the page showed it

    card = Card.objects.get(serial=serial)
    assert card.status == Card.Status.PERSONALIZED
    (received,) = printer.received()
    text = subprocess.run(
        ["pdftotext", str(received), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert serial in text.replace(" ", "")
    (record,) = CardPrint.objects.all()
    assert (record.state, record.card_id) == ("completed", card.pk)

    def station_list(page, base_url) -> None:
        sign_in(page, base_url, "olga")
        page.goto(f"{base_url}{station_page}")
        row = page.get_by_role("row").filter(has_text="desk-1")
        expect(row).to_contain_text(f"Printer {printer.uri}")

    in_browser(station_list)
