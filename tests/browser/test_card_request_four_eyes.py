"""In Chromium: an enrolment officer enrols a professional and asks for a card, cannot approve
it; an approving officer signs in and approves it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from accounts.roles import Role
from cardprofiles.services.versions import card_profile_sync_builtin
from cards.models import CardRequest
from issuance.models import Professional
from tests.browser.conftest import sign_in
from tests.factories import make_totp_device, make_user, valid_rpps

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_enrol_request_and_approve_with_four_eyes(in_browser):
    card_profile_sync_builtin()
    make_user(Role.ENROLMENT_OFFICER, username="emma")
    arthur_key = make_totp_device(make_user(Role.APPROVING_OFFICER, username="arthur")).bin_key
    rpps = valid_rpps(31337)

    def enrol_and_request(page, base_url) -> str:
        sign_in(page, base_url, "emma")
        page.get_by_role("link", name="Enrol a professional").first.click()
        page.get_by_label("RPPS number").fill("12345678901")  # a typo first: Luhn check fails
        page.get_by_label("Last name").fill("Dubois-Légaré")
        page.get_by_label("First name").fill("Maëlle")
        page.get_by_label("Profession").select_option(label="Pharmacist")
        page.get_by_label("Email").fill("maelle@example.org")
        page.get_by_role("button", name="Enrol").click()
        expect(page.locator("#id_rpps-errors")).to_contain_text("check digit is wrong")
        expect(page.get_by_label("Last name")).to_have_value("Dubois-Légaré")
        page.get_by_label("RPPS number").fill(rpps)
        page.get_by_role("button", name="Enrol").click()
        expect(page.get_by_role("status")).to_contain_text("Maëlle Dubois-Légaré is enrolled")

        page.get_by_label("Profile").select_option("hpc-physician")
        page.get_by_label("Reason").select_option("new")
        page.get_by_role("button", name="Submit card request").click()
        expect(page.get_by_role("status")).to_contain_text("another officer must approve it")
        expect(page.locator("#request-status")).to_have_text("Submitted")
        # An enrolment officer has no way to approve.
        expect(page.get_by_role("button", name="Approve")).to_have_count(0)
        return page.url

    request_url = in_browser(enrol_and_request)
    card_request = CardRequest.objects.get(professional=Professional.objects.get(rpps=rpps))
    assert card_request.status == "submitted"
    assert card_request.submitted_by.username == "emma"

    def approve(page, base_url) -> None:
        sign_in(page, base_url, "arthur", totp_key=arthur_key)
        expect(page.get_by_text("Waiting for your decision")).to_be_visible()
        page.get_by_role("link", name=re.compile(r"^#\d+$")).first.click()
        assert page.url == request_url
        page.get_by_label("Decision note").fill("Identity checked against the RPPS register.")
        page.get_by_role("button", name="Approve").click()
        expect(page.locator("#request-status")).to_have_text("Approved")

    in_browser(approve)
    card_request.refresh_from_db()
    assert card_request.status == "approved"
    assert card_request.decided_by.username == "arthur"
