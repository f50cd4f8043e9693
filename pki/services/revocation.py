"""Revocation: four-eyes requests (one officer asks, another decides) and the revocation itself.

RFC 5280 §5.3.1 reasons, with certificateHold putting a certificate on hold and removeFromCRL
releasing it from hold. Each change regenerates the CA's CRL after commit; OCSP answers from the
database, so it shows the change at once.
"""

from __future__ import annotations

import logging

from django.db import models, transaction
from django.utils import timezone

from audit.events import EventType
from audit.services import audit_record
from config.errors import Conflict, FieldError, NotAllowed, ValidationFailed
from config.four_eyes import four_eyes_decide, four_eyes_lock
from pki.der import crl_entry_der
from pki.models import Certificate, RevocationRequest
from pki.reasons import END_ENTITY_REASONS, RevocationReason
from pki.services import Actor, acting_user

logger = logging.getLogger(__name__)


def parse_reason(value: str | int | RevocationReason, *, field: str = "reason") -> RevocationReason:
    try:
        reason = value if isinstance(value, RevocationReason) else RevocationReason.parse(value)
    except ValueError as exc:
        raise ValidationFailed([FieldError(field, str(exc))]) from None
    if reason not in END_ENTITY_REASONS:
        raise ValidationFailed(
            [FieldError(field, f"{reason.label} applies to a CA, not to a certificate it issued")]
        )
    return reason


def _check_transition(certificate: Certificate, reason: RevocationReason) -> None:
    """Refuse a change the certificate's current status does not allow (Conflict)."""
    status = certificate.status
    if status == Certificate.Status.REVOKED:
        raise Conflict(f"certificate {certificate.serial} is already revoked", field="reason")
    if reason == RevocationReason.REMOVE_FROM_CRL and status != Certificate.Status.ON_HOLD:
        raise Conflict(
            f"certificate {certificate.serial} is not on hold; only a held certificate can be "
            "released (removeFromCRL)",
            field="reason",
        )
    if reason == RevocationReason.CERTIFICATE_HOLD and status != Certificate.Status.VALID:
        raise Conflict(f"certificate {certificate.serial} is already on hold", field="reason")


def _schedule_crl(certificate: Certificate) -> None:
    from pki.tasks import queue_crl_regeneration

    requested_at = timezone.now()
    transaction.on_commit(
        lambda: queue_crl_regeneration(ca_id=certificate.ca_id, requested_at=requested_at),
        robust=True,
    )


def certificate_revoke(
    *,
    certificate: Certificate,
    reason: str | int | RevocationReason,
    by: Actor = None,
    emergency: bool = False,
    request: RevocationRequest | None = None,
    comment: str = "",
) -> Certificate:
    """Revoke, hold or release (removeFromCRL) `certificate` now.

    Called by `revocation_request_approve` (four eyes), by a personalization job withdrawing a
    certificate of a card that never completed (by=None), or by `revoke_certificate` on the
    command line as an emergency action (`emergency=True`, flagged in the audit event).
    """
    reason = parse_reason(reason)
    with transaction.atomic():
        certificate = (
            Certificate.objects.select_for_update(no_key=True)
            .select_related("ca")
            .get(pk=certificate.pk)
        )
        _check_transition(certificate, reason)
        now = timezone.now().replace(microsecond=0)
        payload: dict[str, object] = {
            "serial": certificate.serial,
            "ca": certificate.ca.slug,
            "profile": certificate.profile,
            "reason": reason.label,
            "emergency": emergency,
            "comment": comment[:500],
        }
        if request is not None:
            approver = acting_user(by)
            payload.update(
                {
                    "revocation_request": request.pk,
                    "requested_by": request.requested_by.get_username(),
                    "approved_by": approver.get_username() if approver else None,
                }
            )
        if reason == RevocationReason.REMOVE_FROM_CRL:
            # RFC 5280 §5.3.1: a full CRL drops the entry of a certificate released from hold.
            certificate.status = Certificate.Status.VALID
            certificate.revoked_at = None
            certificate.revocation_reason = None
            certificate.crl_entry = None
            event = EventType.CERTIFICATE_HOLD_RELEASED
        else:
            certificate.status = (
                Certificate.Status.ON_HOLD
                if reason == RevocationReason.CERTIFICATE_HOLD
                else Certificate.Status.REVOKED
            )
            certificate.revoked_at = now
            certificate.revocation_reason = int(reason)
            certificate.crl_entry = crl_entry_der(certificate.serial_number, now, int(reason))
            event = EventType.CERTIFICATE_REVOKED
        certificate.save(update_fields=["status", "revoked_at", "revocation_reason", "crl_entry"])
        audit_record(event=event, actor=by, obj=certificate, payload=payload)
        _schedule_crl(certificate)
    logger.info(
        "certificate %s of CA %s: %s%s",
        certificate.serial,
        certificate.ca.slug,
        reason.label,
        " (emergency)" if emergency else "",
    )
    return certificate


def card_certificates_revoke(
    *,
    card: models.Model | None,
    reason: str | int | RevocationReason,
    comment: str,
    by: Actor = None,
) -> list[str]:
    """Change every certificate of `card` that `reason` applies to, through `certificate_revoke`
    (the one revocation path): certificateHold holds the valid ones, removeFromCRL releases the
    held ones, any other reason revokes those valid or on hold (a card failed, replaced,
    revoked). Expired certificates are left alone. Their serials, in order."""
    if card is None or card.pk is None:
        return []
    reason = parse_reason(reason)
    certificates = Certificate.objects.for_card(card).filter(not_after__gt=timezone.now())
    if reason == RevocationReason.CERTIFICATE_HOLD:
        certificates = certificates.filter(status=Certificate.Status.VALID)
    elif reason == RevocationReason.REMOVE_FROM_CRL:
        certificates = certificates.filter(status=Certificate.Status.ON_HOLD)
    else:
        certificates = certificates.exclude(status=Certificate.Status.REVOKED)
    changed = []
    for certificate in certificates.order_by("pk"):
        certificate_revoke(certificate=certificate, reason=reason, by=by, comment=comment)
        changed.append(certificate.serial)
    return changed


def revocation_request_submit(
    *,
    certificate: Certificate,
    reason: str | int | RevocationReason,
    by: Actor,
    comment: str = "",
) -> RevocationRequest:
    """Ask for a revocation (or hold, or release); another officer decides."""
    reason = parse_reason(reason)
    officer = acting_user(by)
    if officer is None:
        raise NotAllowed("a revocation request needs a signed-in officer")
    if not officer.has_perm("pki.request_revocation"):
        raise NotAllowed("you may not ask for revocations")
    with transaction.atomic():
        certificate = (
            Certificate.objects.select_for_update(no_key=True)
            .select_related("ca")
            .get(pk=certificate.pk)
        )
        _check_transition(certificate, reason)
        if RevocationRequest.objects.pending().filter(certificate=certificate).exists():
            raise Conflict(
                f"certificate {certificate.serial} already has a pending revocation request",
                field="certificate",
            )
        request = RevocationRequest.objects.create(
            certificate=certificate,
            reason=int(reason),
            comment=comment,
            requested_by=officer,
            requested_at=timezone.now(),
        )
        audit_record(
            event=EventType.CERTIFICATE_REVOCATION_REQUESTED,
            actor=by,
            obj=request,
            payload={
                "serial": certificate.serial,
                "ca": certificate.ca.slug,
                "reason": reason.label,
                "comment": comment[:500],
            },
        )
    return request


def _lock_pending(revocation_request: RevocationRequest) -> RevocationRequest:
    request = (
        RevocationRequest.objects.select_for_update(no_key=True)
        .select_related("certificate", "requested_by")
        .get(pk=revocation_request.pk)
    )
    if request.status != RevocationRequest.Status.PENDING:
        raise Conflict(f"revocation request #{request.pk} is already {request.status}")
    return request


def _lock_for_decision(revocation_request: RevocationRequest, by: Actor) -> RevocationRequest:
    # Four eyes: no exception for superusers or administrators (config/four_eyes.py). That
    # module is not typed yet: the row it locks is of the queryset's model, RevocationRequest.
    locked: RevocationRequest = four_eyes_lock(
        RevocationRequest.objects.select_related("certificate", "requested_by"),
        revocation_request.pk,
        by=by,
        not_allowed="you may not decide revocation requests",
    )
    return locked


def revocation_request_approve(
    *, revocation_request: RevocationRequest, by: Actor, comment: str = ""
) -> RevocationRequest:
    """Approve another officer's request and carry out the revocation, in one transaction."""
    with transaction.atomic():
        request = _lock_for_decision(revocation_request, by)
        four_eyes_decide(
            request,
            status=RevocationRequest.Status.APPROVED,
            by=by,
            reason_field="decision_comment",
            reason=comment,
        )
        certificate_revoke(
            certificate=request.certificate,
            reason=RevocationReason(request.reason),
            by=by,
            request=request,
            comment=request.comment,
        )
    request.certificate.refresh_from_db()
    return request


def revocation_request_reject(
    *, revocation_request: RevocationRequest, by: Actor, comment: str = ""
) -> RevocationRequest:
    with transaction.atomic():
        request = _lock_for_decision(revocation_request, by)
        four_eyes_decide(
            request,
            status=RevocationRequest.Status.REJECTED,
            by=by,
            reason_field="decision_comment",
            reason=comment,
        )
        audit_record(
            event=EventType.REVOCATION_REQUEST_REJECTED,
            actor=by,
            obj=request,
            payload={
                "serial": request.certificate.serial,
                "requested_by": request.requested_by.get_username(),
                "comment": comment[:500],
            },
        )
    return request


def revocation_request_cancel(
    *, revocation_request: RevocationRequest, by: Actor
) -> RevocationRequest:
    """The requester withdraws their own pending request."""
    with transaction.atomic():
        request = _lock_pending(revocation_request)
        officer = acting_user(by)
        if officer is None or officer.pk != request.requested_by_id:
            raise NotAllowed("only the officer who asked for a revocation can cancel it")
        request.withdraw()
        audit_record(
            event=EventType.REVOCATION_REQUEST_CANCELLED,
            actor=by,
            obj=request,
            payload={"serial": request.certificate.serial},
        )
    return request
