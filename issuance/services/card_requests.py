"""Card requests with four eyes: one officer submits, another approves or rejects.

The submitter can never decide on their own request, whatever their roles — the service refuses
it with a clear message and the database refuses it again (CheckConstraint on CardRequest).
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.events import EventType
from audit.services import audit_record
from cardprofiles.models import CardProfile
from config.errors import Conflict, FieldError, FourEyesViolation, NotAllowed, ValidationFailed
from issuance.models import CardRequest, Professional
from personalization.models import Card
from personalization.services.jobs import job_create_on_approval

_MAX_TEXT = 2000


def _text(field: str, value: str, *, required: bool = False) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ValidationFailed([FieldError(field, "is required")])
    if len(value) > _MAX_TEXT:
        raise ValidationFailed([FieldError(field, f"is longer than {_MAX_TEXT} characters")])
    return value


def _payload(card_request: CardRequest, **extra) -> dict:
    return {
        "professional": card_request.professional.rpps,
        "profile": card_request.card_profile.name,
        "profile_version": card_request.profile_version.number,
        "reason": card_request.reason,
        **extra,
    }


def card_request_submit(
    *,
    professional: Professional,
    profile: CardProfile,
    reason: str = CardRequest.Reason.NEW,
    comment: str = "",
    by,
) -> CardRequest:
    """Ask for a card of `profile` for `professional`, on the profile's current version. What
    needs no lock is checked before the transaction: on SQLite it holds the database's only
    writer lock from its first statement, so every other writer waits for it."""
    if not by.has_perm("issuance.add_cardrequest"):
        raise NotAllowed("you are not allowed to submit card requests")
    if reason not in CardRequest.Reason.values:
        raise ValidationFailed(
            [FieldError("reason", f"must be one of {', '.join(CardRequest.Reason.values)}")]
        )
    if not profile.is_active:
        raise ValidationFailed([FieldError("profile", f"card profile {profile} is not active")])
    version = profile.current_version
    if version is None:
        raise ValidationFailed([FieldError("profile", f"card profile {profile} has no version")])
    comment = _text("comment", comment)
    with transaction.atomic():
        return _submit(professional, profile, version, reason=reason, comment=comment, by=by)


def _submit(professional, profile, version, *, reason: str, comment: str, by) -> CardRequest:
    # Lock the professional so two officers submitting at once queue here.
    Professional.objects.select_for_update().filter(pk=professional.pk).exists()
    if reason == CardRequest.Reason.NEW and (
        Card.objects.personalized().filter(professional=professional, card_profile=profile).exists()
    ):
        raise Conflict(
            f"{professional.full_name} already has a {profile} card; ask for a renewal or a "
            "replacement instead",
            code="card_exists",
        )
    if CardRequest.objects.open().filter(professional=professional, card_profile=profile).exists():
        raise Conflict(
            f"{professional.full_name} already has an open request for card profile {profile}",
            code="open_request_exists",
        )
    card_request = CardRequest(
        professional=professional,
        card_profile=profile,
        profile_version=version,
        reason=reason,
        comment=comment,
        submitted_by=by,
        submitted_at=timezone.now(),
    )
    try:
        with transaction.atomic():
            card_request.save()
    except IntegrityError:
        raise Conflict(
            f"{professional.full_name} already has an open request for card profile {profile}",
            code="open_request_exists",
        ) from None
    audit_record(
        event=EventType.CARD_REQUEST_SUBMITTED,
        actor=by,
        obj=card_request,
        payload=_payload(card_request),
    )
    return card_request


def _lock_for_decision(card_request: CardRequest, by) -> CardRequest:
    if not by.has_perm("issuance.decide_cardrequest"):
        raise NotAllowed("you are not allowed to approve or reject card requests")
    locked = (
        CardRequest.objects.select_for_update(of=("self",))
        .select_related("professional", "card_profile", "profile_version", "submitted_by")
        .get(pk=card_request.pk)
    )
    if locked.submitted_by_id == by.pk:
        raise FourEyesViolation(
            "you submitted this request, so another officer must approve or reject it"
        )
    if locked.status != CardRequest.Status.SUBMITTED:
        raise Conflict(
            f"this request is already {locked.get_status_display().lower()}", code="already_decided"
        )
    return locked


def _decide(card_request: CardRequest, *, status: str, reason: str, by) -> CardRequest:
    card_request.status = status
    card_request.decided_by = by
    card_request.decided_at = timezone.now()
    card_request.decision_reason = reason
    try:
        with transaction.atomic():
            card_request.save(
                update_fields=["status", "decided_by", "decided_at", "decision_reason"]
            )
    except IntegrityError:
        # Only the four-eyes constraint can fail here; the service checked it already.
        raise FourEyesViolation("the submitter of a card request cannot decide on it") from None
    return card_request


@transaction.atomic
def card_request_approve(
    *, card_request: CardRequest, by, reason: str = "", batch=None
) -> CardRequest:
    card_request = _lock_for_decision(card_request, by)
    _decide(
        card_request,
        status=CardRequest.Status.APPROVED,
        reason=_text("reason", reason),
        by=by,
    )
    audit_record(
        event=EventType.CARD_REQUEST_APPROVED,
        actor=by,
        obj=card_request,
        payload=_payload(card_request, submitted_by=card_request.submitted_by.get_username()),
    )
    # In the same transaction: the job exists if and only if the approval does.
    job_create_on_approval(card_request=card_request, by=by, batch=batch)
    return card_request


@transaction.atomic
def card_request_reject(*, card_request: CardRequest, by, reason: str) -> CardRequest:
    reason = _text("reason", reason, required=True)
    card_request = _lock_for_decision(card_request, by)
    _decide(card_request, status=CardRequest.Status.REJECTED, reason=reason, by=by)
    audit_record(
        event=EventType.CARD_REQUEST_REJECTED,
        actor=by,
        obj=card_request,
        payload=_payload(
            card_request, submitted_by=card_request.submitted_by.get_username(), note=reason
        ),
    )
    return card_request


@transaction.atomic
def card_request_cancel(*, card_request: CardRequest, by, reason: str = "") -> CardRequest:
    """Withdraw a request that nobody has decided on yet."""
    if not by.has_perm("issuance.cancel_cardrequest"):
        raise NotAllowed("you are not allowed to cancel card requests")
    reason = _text("reason", reason)
    locked = (
        CardRequest.objects.select_for_update(of=("self",))
        .select_related("professional", "card_profile", "profile_version")
        .get(pk=card_request.pk)
    )
    if locked.status != CardRequest.Status.SUBMITTED:
        raise Conflict(
            f"only submitted requests can be cancelled; this one is "
            f"{locked.get_status_display().lower()}",
            code="not_cancellable",
        )
    locked.status = CardRequest.Status.CANCELLED
    locked.cancelled_by = by
    locked.cancelled_at = timezone.now()
    locked.decision_reason = reason
    locked.save(update_fields=["status", "cancelled_by", "cancelled_at", "decision_reason"])
    audit_record(
        event=EventType.CARD_REQUEST_CANCELLED,
        actor=by,
        obj=locked,
        payload=_payload(locked, note=reason) if reason else _payload(locked),
    )
    return locked
