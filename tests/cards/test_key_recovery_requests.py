"""Recovering an escrowed key to anyone but the holder's new card: one officer asks, two others
approve, then `manage.py recover_key` writes it once, where the signer's secrets are."""

from __future__ import annotations

import io
import stat

import pytest
from cryptography.hazmat.primitives.serialization import pkcs12
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction

from accounts.roles import Role
from audit.events import EventType
from audit.models import AuditEvent
from cards.models import EscrowedKey, KeyRecoveryRequest
from cards.services.key_recovery import (
    key_recovery_approve,
    key_recovery_reject,
    key_recovery_request,
)
from config.errors import Conflict, FourEyesViolation, NotAllowed, ValidationFailed
from pki.models import Certificate
from tests.factories import make_user

pytestmark = pytest.mark.django_db

PASSPHRASE = "a long passphrase for the court"


@pytest.fixture
def escrowed(personalized) -> EscrowedKey:
    return EscrowedKey.objects.get(card=personalized("hpc-recoverable"), slot="9D")


@pytest.fixture
def asked(escrowed, users) -> KeyRecoveryRequest:
    return key_recovery_request(
        escrowed_key=escrowed,
        recipient="Me Durand, notary, estate of the holder",
        reason="holder deceased; order of the court of Paris 2026/118",
        by=users[Role.ADMINISTRATOR],
    )


def test_it_takes_three_different_officers(asked, users):
    admin, officer = users[Role.ADMINISTRATOR], users[Role.APPROVING_OFFICER]
    other = make_user(Role.APPROVING_OFFICER, username="second-approver")
    with pytest.raises(FourEyesViolation):
        key_recovery_approve(key_recovery=asked, by=admin)
    with pytest.raises(NotAllowed):
        key_recovery_approve(key_recovery=asked, by=users[Role.ENCODING_OPERATOR])
    asked = key_recovery_approve(key_recovery=asked, by=officer)
    assert (asked.status, asked.first_approver) == ("pending", officer)
    with pytest.raises(FourEyesViolation, match="approved it already"):
        key_recovery_approve(key_recovery=asked, by=officer)
    # Forced past the service, the database refuses one person approving twice.
    with pytest.raises(IntegrityError), transaction.atomic():
        KeyRecoveryRequest.objects.filter(pk=asked.pk).update(
            status="approved", decided_by=officer, decided_at=asked.requested_at
        )
    asked = key_recovery_approve(key_recovery=asked, by=other)
    assert (asked.status, asked.decided_by) == ("approved", other)
    approvals = AuditEvent.objects.filter(event=EventType.KEY_RECOVERY_APPROVED)
    assert [event.payload["approval"] for event in approvals.order_by("sequence")] == [1, 2]


def test_asking_needs_the_permission_a_recipient_and_a_reason(escrowed, users):
    with pytest.raises(NotAllowed):
        key_recovery_request(
            escrowed_key=escrowed, recipient="x", reason="y", by=users[Role.APPROVING_OFFICER]
        )
    with pytest.raises(ValidationFailed, match="reason"):
        key_recovery_request(
            escrowed_key=escrowed, recipient="notary", reason=" ", by=users[Role.ADMINISTRATOR]
        )


def _recover(request_id: int, answers: list[str], out) -> str:
    typed = iter(answers)
    stdout = io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            "cards.management.commands.recover_key.getpass.getpass", lambda prompt="": next(typed)
        )
        call_command("recover_key", str(request_id), "--out", str(out), stdout=stdout)
    return stdout.getvalue()


def test_recovered_once_as_a_protected_pkcs12_after_two_approvals(asked, users, tmp_path):
    out = tmp_path / "recovered.p12"
    with pytest.raises(CommandError, match="only a request approved by two officers"):
        _recover(asked.pk, [PASSPHRASE, PASSPHRASE], out)
    assert not out.exists()
    key_recovery_approve(key_recovery=asked, by=users[Role.APPROVING_OFFICER])
    key_recovery_approve(
        key_recovery=asked, by=make_user(Role.APPROVING_OFFICER, username="second-approver")
    )
    with pytest.raises(CommandError, match="passphrases differ"):
        _recover(asked.pk, [PASSPHRASE, PASSPHRASE + "!"], out)
    with pytest.raises(CommandError, match="at least 12"):
        _recover(asked.pk, ["short", "short"], out)
    assert not out.exists()

    said = _recover(asked.pk, [PASSPHRASE, PASSPHRASE], out)
    assert "is now recovered" in said
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    key, certificate, _ = pkcs12.load_key_and_certificates(out.read_bytes(), PASSPHRASE.encode())
    escrowed = asked.escrowed_key
    row = Certificate.objects.for_card(escrowed.card).get(card_slot="9D")
    assert certificate is not None
    assert certificate.serial_number == int(row.serial, 16)
    assert key.public_key() == certificate.public_key()
    with pytest.raises(ValueError):
        pkcs12.load_key_and_certificates(out.read_bytes(), b"a wrong passphrase")
    asked.refresh_from_db()
    assert asked.status == "recovered"
    event = AuditEvent.objects.get(event=EventType.KEY_RECOVERED)
    assert event.payload["approvers"] == [users[Role.APPROVING_OFFICER].username, "second-approver"]
    assert PASSPHRASE not in str(event.payload)

    with pytest.raises(CommandError, match="recovered"):
        _recover(asked.pk, [PASSPHRASE, PASSPHRASE], tmp_path / "again.p12")
    assert not (tmp_path / "again.p12").exists()


def test_a_rejected_request_is_never_recovered(asked, users, tmp_path, settings):
    key_recovery_reject(
        key_recovery=asked, by=users[Role.APPROVING_OFFICER], comment="no court order attached"
    )
    with pytest.raises(Conflict):
        key_recovery_approve(
            key_recovery=asked, by=make_user(Role.APPROVING_OFFICER, username="late")
        )
    with pytest.raises(CommandError, match="rejected"):
        _recover(asked.pk, [PASSPHRASE, PASSPHRASE], tmp_path / "x.p12")
    settings.CARDFORGE_IS_SIGNER = False
    with pytest.raises(CommandError, match="where the signer's secrets are"):
        _recover(asked.pk, [PASSPHRASE, PASSPHRASE], tmp_path / "y.p12")


def test_over_the_api(escrowed, users, api):
    admin = users[Role.ADMINISTRATOR]
    made = api.as_user(admin).post(
        "/api/v1/key-recoveries/",
        {"card": escrowed.card_id, "recipient": "Me Durand, notary", "reason": "order 2026/118"},
        format="json",
    )
    assert made.status_code == 201, made.json()
    row = made.json()
    assert (row["card"], row["slot"], row["status"]) == (escrowed.card.serial, "9D", "pending")
    own = api.as_user(admin).post(f"/api/v1/key-recoveries/{row['id']}/approve/")
    assert (own.status_code, own.json()["code"]) == (403, "four_eyes")
    first = api.as_user(users[Role.APPROVING_OFFICER]).post(
        f"/api/v1/key-recoveries/{row['id']}/approve/"
    )
    assert first.json()["first_approver"] == users[Role.APPROVING_OFFICER].username
    assert first.json()["status"] == "pending"
    missing = api.as_user(admin).post(
        "/api/v1/key-recoveries/",
        {"card": escrowed.card_id, "slot": "9A", "recipient": "x", "reason": "y"},
        format="json",
    )
    assert (missing.status_code, missing.json()["errors"][0]["field"]) == (400, "card")
    refused = api.as_user(users[Role.ENCODING_OPERATOR]).get("/api/v1/key-recoveries/")
    assert refused.status_code == 403
