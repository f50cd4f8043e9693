"""Recovering an escrowed encryption key to anyone but its holder's new card (docs/card-
lifecycle.md, "Key recovery"): one officer asks, naming who receives it and why; two other
officers approve, one after the other (never the one who asked, never the same twice; database
CHECKs too); then, where the signer's secrets are, `manage.py recover_key` writes it once as a
passphrase-protected PKCS#12 for the recipient. A holder's own new card needs none of this: the
signer gives it their earlier keys (signer/making.py)."""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.events import EventType
from audit.services import audit_record
from cards.models import EscrowedKey, KeyRecoveryRequest
from cards.services.secrets import escrowed_key_open
from config.errors import Conflict, FieldError, FourEyesViolation, NotAllowed, ValidationFailed
from pki.models import Certificate

Status = KeyRecoveryRequest.Status
TEXT_MAX = 500
PASSPHRASE_MIN = 12


def _text(field: str, value: str, *, limit: int = TEXT_MAX) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationFailed([FieldError(field, "required (it goes in the audit trail)")])
    if len(value) > limit:
        raise ValidationFailed([FieldError(field, f"at most {limit} characters")])
    return value


def _may(by, permission: str, what: str) -> None:
    if not (getattr(by, "is_authenticated", False) and by.has_perm(permission)):
        raise NotAllowed(f"you may not {what}")


def _payload(request: KeyRecoveryRequest, **extra) -> dict:
    key = request.escrowed_key
    return {"card": key.card.serial, "slot": key.slot, "recipient": request.recipient, **extra}


def key_recovery_request(
    *, escrowed_key: EscrowedKey, recipient: str, reason: str, by
) -> KeyRecoveryRequest:
    _may(by, "cards.request_keyrecovery", "ask for key recoveries")
    recipient, reason = _text("recipient", recipient, limit=200), _text("reason", reason)
    with transaction.atomic():
        request = KeyRecoveryRequest.objects.create(
            escrowed_key=escrowed_key,
            recipient=recipient,
            reason=reason,
            requested_by=by,
            requested_at=timezone.now(),
        )
        audit_record(
            event=EventType.KEY_RECOVERY_REQUESTED,
            actor=by,
            obj=request,
            payload=_payload(request, reason=reason),
        )
    return request


def _locked(request: KeyRecoveryRequest) -> KeyRecoveryRequest:
    return (
        KeyRecoveryRequest.objects.select_for_update(no_key=True, of=("self",))
        .select_related("escrowed_key__card")
        .get(pk=request.pk)
    )


def key_recovery_approve(
    *, key_recovery: KeyRecoveryRequest, by, comment: str = ""
) -> KeyRecoveryRequest:
    """The first approval, or the second (by a third person): then it may be recovered."""
    _may(by, "cards.decide_keyrecovery", "decide key recovery requests")
    with transaction.atomic():
        request = _locked(key_recovery)
        if request.status != Status.PENDING:
            msg = f"key recovery request #{request.pk} is {request.get_status_display().lower()}"
            raise Conflict(msg, code="already_decided")
        if by.pk == request.requested_by_id:
            raise FourEyesViolation("you asked for this recovery: two other officers approve it")
        if by.pk == request.first_approver_id:
            raise FourEyesViolation("you approved it already: a second officer must approve too")
        now = timezone.now()
        if request.first_approver_id is None:
            request.first_approver, request.first_approved_at = by, now
            fields = ["first_approver", "first_approved_at"]
            which = 1
        else:
            request.decided_by, request.decided_at = by, now
            request.status, request.decision_comment = Status.APPROVED, comment[:TEXT_MAX]
            fields = ["decided_by", "decided_at", "status", "decision_comment"]
            which = 2
        try:
            with transaction.atomic():
                request.save(update_fields=fields)
        except IntegrityError:
            raise FourEyesViolation("three different officers ask and approve a recovery") from None
        audit_record(
            event=EventType.KEY_RECOVERY_APPROVED,
            actor=by,
            obj=request,
            payload=_payload(request, approval=which, comment=comment[:TEXT_MAX]),
        )
    return request


def key_recovery_reject(
    *, key_recovery: KeyRecoveryRequest, by, comment: str
) -> KeyRecoveryRequest:
    _may(by, "cards.decide_keyrecovery", "decide key recovery requests")
    comment = _text("comment", comment)
    with transaction.atomic():
        request = _locked(key_recovery)
        if request.status != Status.PENDING:
            msg = f"key recovery request #{request.pk} is {request.get_status_display().lower()}"
            raise Conflict(msg, code="already_decided")
        if by.pk in (request.requested_by_id, request.first_approver_id):
            raise FourEyesViolation("another officer decides: you asked for it or approved it")
        request.status, request.decided_by, request.decided_at = Status.REJECTED, by, timezone.now()
        request.decision_comment = comment
        request.save(update_fields=["status", "decided_by", "decided_at", "decision_comment"])
        audit_record(
            event=EventType.KEY_RECOVERY_REJECTED,
            actor=by,
            obj=request,
            payload=_payload(request, comment=comment),
        )
    return request


def key_recovery_export(*, key_recovery: KeyRecoveryRequest, passphrase: bytes) -> bytes:
    """The approved key with its certificate, as PKCS#12 protected by `passphrase` (AES-256),
    once: the request becomes recovered in the same transaction. Runs where the signer's
    secrets are (the key is unsealed here). `passphrase` is never logged or kept."""
    if len(passphrase) < PASSPHRASE_MIN:
        raise ValidationFailed([FieldError("passphrase", f"at least {PASSPHRASE_MIN} characters")])
    with transaction.atomic():
        request = _locked(key_recovery)
        if request.status != Status.APPROVED:
            msg = (
                f"key recovery request #{request.pk} is {request.get_status_display().lower()}: "
                "only a request approved by two officers is recovered, once"
            )
            raise Conflict(msg, code="not_recoverable")
        escrowed = request.escrowed_key
        private_key = serialization.load_der_private_key(escrowed_key_open(escrowed), password=None)
        row = (
            Certificate.objects.for_card(escrowed.card)
            .filter(card_slot=escrowed.slot)
            .order_by("-pk")
            .first()
        )
        certificate = x509.load_der_x509_certificate(bytes(row.der)) if row else None
        blob = pkcs12.serialize_key_and_certificates(
            name=f"{escrowed.card.serial} {escrowed.slot}".encode(),
            key=private_key,  # type: ignore[arg-type]
            cert=certificate,
            cas=None,
            encryption_algorithm=serialization.BestAvailableEncryption(passphrase),
        )
        request.status, request.recovered_at = Status.RECOVERED, timezone.now()
        request.save(update_fields=["status", "recovered_at"])
        audit_record(
            event=EventType.KEY_RECOVERED,
            obj=request,
            payload=_payload(
                request,
                certificate=row.serial if row else None,
                approvers=[
                    request.first_approver.get_username(),
                    request.decided_by.get_username(),
                ],
            ),
        )
    return blob
