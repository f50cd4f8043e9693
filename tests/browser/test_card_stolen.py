"""In Chromium: an enrolment officer reports a holder's card stolen and cannot approve it; an
approving officer finds the request in the queue and approves it; the card's page shows the
card revoked, and each of its certificates revoked."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from accounts.roles import Role
from cards.models import Card, CardActionRequest
from pki.models import Certificate
from tests.browser.conftest import sign_in
from tests.cards.conftest import personalized  # noqa: F401
from tests.cards.holder import hand_over_and_activate
from tests.factories import make_totp_device
from tests.personalization.jobs.conftest import approved, pki, station  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_stolen_card_reported_then_approved_is_revoked(in_browser, personalized, users):  # noqa: F811
    card = hand_over_and_activate(personalized(), officer=users[Role.ENCODING_OPERATOR])
    officer = users[Role.ENROLMENT_OFFICER].username
    approver = users[Role.APPROVING_OFFICER]
    approver_key = make_totp_device(approver).bin_key

    def report(page, base_url) -> None:
        sign_in(page, base_url, officer)
        page.goto(f"{base_url}/cards/{card.pk}/")
        expect(page.locator("#card-status")).to_have_text("Active")
        page.get_by_label("Action").select_option("revoke")
        page.get_by_label("What happened to the card").select_option("stolen")
        page.get_by_label("Comment").fill("Stolen from the locker room, police report 2026-118")
        page.get_by_role("button", name="Ask (another officer approves)").click()
        expect(page.get_by_role("status")).to_contain_text("another officer must approve it")
        expect(page.locator("#pending-action")).to_contain_text("Revocation (stolen) asked by")
        # The officer who asked has no way to approve.
        expect(page.get_by_role("button", name="Approve the revocation")).to_have_count(0)
        expect(page.locator("#card-status")).to_have_text("Active")

    in_browser(report)
    asked = CardActionRequest.objects.get(card=card)
    assert (asked.action, asked.reason, asked.status) == ("revoke", "stolen", "pending")

    def approve(page, base_url) -> None:
        sign_in(page, base_url, approver.username, totp_key=approver_key)
        page.get_by_role("link", name="Suspensions & revocations").click()
        rows = page.locator("#card-actions tbody tr")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("Stolen from the locker room")
        rows.first.get_by_role("link", name=card.serial).click()
        page.get_by_label("Note").fill("Holder called the desk; identity checked.")
        page.get_by_role("button", name="Approve the revocation").click()
        expect(page.get_by_role("status")).to_contain_text(
            f"Revocation of card {card.serial} (request #{asked.pk}) approved, and done."
        )
        expect(page.locator("#card-status")).to_have_text("Revoked")
        expect(page.locator("#card-revoked")).to_contain_text("stolen")
        badges = page.locator("table tbody td .badge")
        expect(badges).to_have_count(4)
        for index in range(4):
            expect(badges.nth(index)).to_have_text("Revoked")

    in_browser(approve)
    card.refresh_from_db()
    assert (card.status, card.revocation_reason) == (Card.Status.REVOKED, "stolen")
    assert set(Certificate.objects.for_card(card).values_list("status", flat=True)) == {"revoked"}
