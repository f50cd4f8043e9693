"""`manage.py card`: a card's life from a shell, as a signed-in user, through the same services."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from accounts.roles import Role
from audit.events import EventType
from audit.models import AuditEvent
from cards.models import Card, CardActionRequest
from tests.factories import make_totp_device

pytestmark = pytest.mark.django_db


def _card(*args: str) -> str:
    out = io.StringIO()
    call_command("card", *args, stdout=out)
    return out.getvalue()


def test_deliver_then_ask_and_approve_a_suspension_from_the_shell(
    personalized, users, console_typing
):
    card = personalized()
    operator = users[Role.ENCODING_OPERATOR].username
    assert f"Card {card.serial}: delivered." in _card("deliver", card.serial, "--as-user", operator)
    Card.objects.filter(pk=card.pk).update(status=Card.Status.ACTIVE)  # as its holder did

    officer = users[Role.ENROLMENT_OFFICER].username
    out = _card("request", card.serial, "revoke", "--reason", "lost", "--as-user", officer)
    asked = CardActionRequest.objects.get(card=card)
    assert f"Request #{asked.pk} to revoke card {card.serial} made" in out
    with pytest.raises(CommandError, match="you may not decide card action requests"):
        _card("approve", str(asked.pk), "--as-user", officer)
    make_totp_device(users[Role.APPROVING_OFFICER])  # a deciding role signs in with a code
    approver = users[Role.APPROVING_OFFICER].username
    out = _card("approve", str(asked.pk), "--as-user", approver)
    assert f"Card {card.serial}: revoked (lost)." in out
    assert AuditEvent.objects.get(event=EventType.CARD_REVOKED).actor == approver
    shown = _card("show", card.serial)
    assert shown.count("Revoked") == 4  # its four certificates
    assert f"request #{asked.pk}: revoke lost by {officer}, approved" in shown


def test_refusals_say_why_and_change_nothing(personalized, users, console_typing):
    card = personalized()
    make_totp_device(users[Role.ADMINISTRATOR])
    admin = users[Role.ADMINISTRATOR].username
    with pytest.raises(CommandError, match="no card with serial 'nope'"):
        _card("deliver", "nope", "--as-user", admin)
    with pytest.raises(CommandError, match="it cannot become suspended"):
        _card("request", card.serial, "suspend", "--as-user", admin)
    with pytest.raises(CommandError, match="cannot become destroyed"):
        _card("destroy", card.serial, "--as-user", admin)
    console_typing["password"] = "a guess"
    with pytest.raises(CommandError):
        _card(
            "emergency-revoke",
            card.serial,
            "--reason",
            "stolen",
            "--comment",
            "x",
            "--as-user",
            admin,
        )
    card.refresh_from_db()
    assert card.status == Card.Status.PERSONALIZED


def test_emergency_revocation_from_the_shell_is_flagged(personalized, users, console_typing):
    card = personalized()
    make_totp_device(users[Role.ADMINISTRATOR])
    admin = users[Role.ADMINISTRATOR].username
    out = _card(
        "emergency-revoke",
        card.serial,
        "--reason",
        "stolen",
        "--comment",
        "police report 42",
        "--as-user",
        admin,
    )
    assert "flagged in the audit trail" in out
    event = AuditEvent.objects.get(event=EventType.CARD_REVOKED)
    assert (event.payload["emergency"], event.actor) == (True, admin)


def test_expire_now(personalized):
    card = personalized()
    Card.objects.filter(pk=card.pk).update(expires_at=card.created_at)
    assert _card("expire") == f"1 card(s) expired: {card.serial}.\n"
    card.refresh_from_db()
    assert card.status == Card.Status.EXPIRED
    assert _card("expire") == "0 card(s) expired.\n"


def test_renewals_now(personalized, users):
    import datetime as dt

    card = personalized()
    Card.objects.filter(pk=card.pk).update(
        status=Card.Status.ACTIVE, expires_at=card.created_at + dt.timedelta(days=10)
    )
    assert (
        _card("renewals")
        == f"1 card(s) newly due for renewal: {card.serial}; 0 renewal request(s) submitted.\n"
    )
    assert _card("renewals").startswith("0 card(s) newly due")
