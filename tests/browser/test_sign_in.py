"""In Chromium: an approving officer signs in with password and TOTP code (enrolling the
authenticator at the first sign-in) and approves a request another officer submitted; ten wrong
passwords lock an account, the right one is then refused, and the auditor finds the lock in the
audit trail."""

from __future__ import annotations

import base64

import pytest
from playwright.sync_api import expect

from accounts.roles import Role
from audit.events import EventType
from audit.models import AuditEvent
from cards.models import CardRequest
from cards.services.card_requests import card_request_submit
from tests.browser.conftest import PASSWORD, sign_in
from tests.factories import ProfessionalFactory, make_totp_device, make_user, totp_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_approver_signs_in_with_password_and_code_and_approves(in_browser, profiles):
    enrolment = make_user(Role.ENROLMENT_OFFICER, username="emma")
    arthur = make_user(Role.APPROVING_OFFICER, username="arthur")
    key = make_totp_device(arthur).bin_key
    card_request = card_request_submit(
        professional=ProfessionalFactory(), profile=profiles["hpc-physician"], by=enrolment
    )

    def password_then_code(page, base_url) -> None:
        page.goto(f"{base_url}/requests/{card_request.pk}/")
        page.get_by_label("Username").fill("arthur")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        # The password alone opens nothing: the code step, and it stays there.
        page.wait_for_url(f"{base_url}/login/code/**")
        page.goto(f"{base_url}/requests/{card_request.pk}/")
        page.wait_for_url(f"{base_url}/login/code/**")
        page.get_by_label("Code").fill("000000")
        page.get_by_role("button", name="Verify").click()
        expect(page.locator("#id_otp_token-errors")).to_contain_text("wrong or has expired")
        page.wait_for_timeout(1100)  # django-otp's one-second back-off after a wrong code
        page.get_by_label("Code").fill(totp_code(key))
        page.get_by_role("button", name="Verify").click()
        # Back where the officer was going.
        page.wait_for_url(f"{base_url}/requests/{card_request.pk}/")
        page.get_by_label("Decision note").fill("Identity checked against the RPPS register.")
        page.get_by_role("button", name="Approve").click()
        expect(page.locator("#request-status")).to_have_text("Approved")

    in_browser(password_then_code)
    card_request.refresh_from_db()
    assert card_request.status == CardRequest.Status.APPROVED
    assert card_request.decided_by == arthur
    assert AuditEvent.objects.filter(
        event=EventType.SECOND_FACTOR_VERIFIED, actor="arthur"
    ).exists()


def test_first_sign_in_enrols_the_authenticator(in_browser):
    make_user(Role.ADMINISTRATOR, username="ada", is_staff=True)

    def enrol(page, base_url) -> None:
        page.goto(f"{base_url}/login/")
        page.get_by_label("Username").fill("ada")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{base_url}/login/enrol/**")
        expect(page.locator("figure.qr svg")).to_be_visible()
        secret = page.locator("#totp-secret").inner_text().replace(" ", "")
        # What the officer types into the app by hand, as the app would compute the code.
        key = base64.b32decode(secret + "=" * (-len(secret) % 8))
        page.get_by_label("Code").fill(totp_code(key))
        page.get_by_role("button", name="Confirm").click()
        page.wait_for_url(f"{base_url}/")
        expect(page.get_by_role("link", name="Admin")).to_be_visible()

    in_browser(enrol)
    assert AuditEvent.objects.filter(event=EventType.SECOND_FACTOR_ENROLLED, actor="ada").exists()


def test_ten_wrong_passwords_lock_the_account_and_the_auditor_sees_it(in_browser):
    make_user(Role.ENROLMENT_OFFICER, username="emma")
    make_user(Role.AUDITOR, username="alice")

    def guess(page, base_url) -> None:
        for attempt in range(10):
            page.goto(f"{base_url}/login/")
            page.get_by_label("Username").fill("emma")
            page.get_by_label("Password").fill(f"guess-{attempt}")
            page.get_by_role("button", name="Sign in").click()
            if attempt < 9:
                expect(page.get_by_role("alert")).to_contain_text("didn't match")
        expect(page.get_by_role("alert")).to_contain_text("This account is locked")
        # The right password now gets the same answer.
        page.get_by_label("Username").fill("emma")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_contain_text("This account is locked")
        assert page.url == f"{base_url}/login/"

    in_browser(guess)

    def audit_trail(page, base_url) -> None:
        sign_in(page, base_url, "alice")
        page.get_by_role("link", name="Audit trail").click()
        page.get_by_label("Event").select_option(str(EventType.USER_LOCKED_OUT.value))
        page.get_by_role("button", name="Filter").click()
        row = page.locator("tr", has_text="User locked out")
        expect(row).to_have_count(1)
        expect(row).to_contain_text("emma")

    in_browser(audit_trail)
