"""PIN unblock: a card blocked by three wrong PINs is unblocked at a station with the card
present, after one officer asked and another approved; the signer gives the station the card's
managed PUK and a new PIN, and seals a new PIN mailer; the new PIN works, the old one fails."""

from __future__ import annotations

import pytest

from accounts.roles import Role
from audit.events import EventType
from audit.models import AuditEvent
from cardedge.piv import Pin
from cardedge.piv.errors import AuthenticationBlocked, WrongPin
from cards.models import Card, PinMailer
from cards.services.card_actions import card_action_approve, card_action_request
from cards.services.secrets import managed_puk_open, pin_mailer_secrets
from config.errors import Conflict, FourEyesViolation
from personalization.models import JobStep, PersonalizationJob
from personalization.runner.engine import Outcome, job_run
from tests.cards.holder import hand_over_and_activate, holder_client, holder_pin

pytestmark = pytest.mark.django_db

WRONG = Pin("000000")


def _block(card: Card, pin: Pin) -> None:
    client = holder_client(card)
    for _ in range(3):
        with pytest.raises((WrongPin, AuthenticationBlocked)):
            client.verify_pin(WRONG)
    with pytest.raises(AuthenticationBlocked):
        client.verify_pin(pin)


@pytest.fixture
def blocked(personalized, users) -> tuple[Card, Pin]:
    """An active hpc-recoverable card blocked by three wrong PINs, and the PIN it had."""
    card = personalized("hpc-recoverable")
    pin = holder_pin(card)  # read before activation destroys the unread mailer
    card = hand_over_and_activate(card, officer=users[Role.ENCODING_OPERATOR])
    _block(card, pin)
    return card, pin


def test_an_approved_unblock_gives_the_blocked_card_a_new_pin(blocked, users):
    blocked, old_pin = blocked
    puk = managed_puk_open(blocked)
    asked = card_action_request(
        card=blocked,
        action="unblock",
        comment="holder at the desk",
        by=users[Role.ENROLMENT_OFFICER],
    )
    assert not PersonalizationJob.objects.filter(card=blocked, kind="unblock").exists()
    card_action_approve(card_action=asked, by=users[Role.APPROVING_OFFICER])
    job = PersonalizationJob.objects.get(card=blocked, kind="unblock")
    assert job.card_action == asked

    assert job_run(job_id=job.pk, worker="station") is Outcome.DONE, job.error_message
    steps = list(JobStep.objects.filter(job=job).values_list("name", flat=True))
    assert steps == ["find_card", "unblock_secrets", "reset_pin", "finish"]
    new_pin, printed_puk = pin_mailer_secrets(PinMailer.objects.get(card=blocked))
    assert printed_puk is None
    assert new_pin.reveal() != old_pin.reveal()

    client = holder_client(blocked)
    client.verify_pin(new_pin)  # works
    client.logout()
    with pytest.raises(WrongPin):
        client.verify_pin(old_pin)
    assert managed_puk_open(blocked).reveal() == puk.reveal()  # the PUK did not change
    blocked.refresh_from_db()
    assert blocked.status == Card.Status.ACTIVE
    event = AuditEvent.objects.get(event=EventType.CARD_PIN_UNBLOCKED)
    assert event.payload["request"] == asked.pk
    for secret in (new_pin, puk, old_pin):
        assert secret.reveal().decode() not in str(AuditEvent.objects.values_list("payload"))


def test_self_approval_and_a_given_puk_are_refused(blocked, personalized, users):
    blocked, _ = blocked
    admin = users[Role.ADMINISTRATOR]
    asked = card_action_request(card=blocked, action="unblock", by=admin)
    with pytest.raises(FourEyesViolation):
        card_action_approve(card_action=asked, by=admin)
    assert not PersonalizationJob.objects.filter(card=blocked, kind="unblock").exists()

    given = hand_over_and_activate(
        personalized("hpc-physician"), officer=users[Role.ENCODING_OPERATOR]
    )
    with pytest.raises(Conflict, match="was given to its holder") as refused:
        card_action_request(card=given, action="unblock", by=users[Role.ENROLMENT_OFFICER])
    assert refused.value.code == "puk_not_managed"


def test_an_unblock_job_refuses_a_card_revoked_since(blocked, users):
    blocked, pin = blocked
    asked = card_action_request(card=blocked, action="unblock", by=users[Role.ENROLMENT_OFFICER])
    card_action_approve(card_action=asked, by=users[Role.APPROVING_OFFICER])
    job = PersonalizationJob.objects.get(card=blocked, kind="unblock")
    Card.objects.filter(pk=blocked.pk).update(
        status=Card.Status.REVOKED, revoked_at=blocked.issued_at, revocation_reason="stolen"
    )
    assert job_run(job_id=job.pk, worker="station") is Outcome.FAILED
    job.refresh_from_db()
    assert job.error_code == "ApprovalMismatch"
    assert "not in use" in job.error_message
    with pytest.raises(AuthenticationBlocked):
        holder_client(blocked).verify_pin(pin)  # still blocked
