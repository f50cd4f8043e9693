"""Card requests with four eyes: one officer submits, another approves or rejects.

The submitter can never decide on their own request, whatever their roles — the service refuses
it with a clear message and the database refuses it again (CheckConstraint on CardRequest).
A request carries the identity snapshot taken at submission (issuance/identity.py); the
approval records the hash of the snapshot the approver was shown, and refuses one that does
not match it, or that no longer matches its own hash.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.events import EventType
from audit.services import audit_record
from cardprofiles.models import CardProfile
from cards.approvals import approval_hooks_run
from cards.models import Card, CardRequest
from config.errors import Conflict, FieldError, NotAllowed, ValidationFailed
from config.four_eyes import four_eyes_decide, four_eyes_lock
from config.statements import update_where
from issuance.identity import identity_of, identity_sha256
from issuance.models import Professional

_MAX_TEXT = 2000

# The card request's states: this module is the only one that changes them (the runner's finish
# calls `card_request_complete`). Each move is one service; the table is what they may do.
Status = CardRequest.Status
TRANSITIONS: dict[str, dict[str, str]] = {
    Status.SUBMITTED: {
        Status.APPROVED: "card_request_approve (another officer, for the snapshot shown)",
        Status.REJECTED: "card_request_reject (another officer, with a reason)",
        Status.CANCELLED: "card_request_cancel (its submitter)",
    },
    Status.APPROVED: {Status.COMPLETED: "card_request_complete (its card is personalized)"},
    Status.REJECTED: {},
    Status.CANCELLED: {},
    Status.COMPLETED: {},
}


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
        "identity_sha256": card_request.identity_sha256,
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
    if not by.has_perm("cards.add_cardrequest"):
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
    # Lock the professional so two officers submitting at once queue here, and so the snapshot
    # is taken from the row as it is now (an edit waits for this transaction).
    professional = (
        Professional.objects.select_for_update(no_key=True, of=("self",))
        .select_related("organisation")
        .get(pk=professional.pk)
    )
    one_card = version.definition.get("cards_per_holder", "one") == "one"
    if reason == CardRequest.Reason.NEW and one_card:
        live = Card.objects.live().filter(professional=professional, card_profile=profile).first()
        if live is not None:
            raise Conflict(
                f"{professional.full_name} already has a {profile} card ({live.serial}, "
                f"{live.get_status_display().lower()}); card profile {profile} allows one card "
                "a holder: ask for a renewal or a replacement instead",
                code="card_exists",
                field="reason",
            )
    if CardRequest.objects.open().filter(professional=professional, card_profile=profile).exists():
        raise Conflict(
            f"{professional.full_name} already has an open request for card profile {profile}",
            code="open_request_exists",
        )
    identity = identity_of(professional, version)
    card_request = CardRequest(
        professional=professional,
        card_profile=profile,
        profile_version=version,
        identity=identity.as_json(),
        identity_sha256=identity.sha256,
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
    return four_eyes_lock(
        CardRequest.objects.select_related(
            "professional", "card_profile", "profile_version", "submitted_by"
        ),
        card_request.pk,
        by=by,
        not_allowed="you are not allowed to approve or reject card requests",
    )


def _check_snapshot(card_request: CardRequest, shown_sha256: str | None) -> None:
    """The snapshot is the one submitted (its hash still matches) and, when the caller says
    which snapshot the approver was shown, that one."""
    if identity_sha256(card_request.identity) != card_request.identity_sha256:
        raise Conflict(
            f"card request #{card_request.pk}: its identity snapshot does not match its hash; "
            "it cannot be approved (reject it and submit a new one)",
            code="identity_snapshot_altered",
        )
    if shown_sha256 is not None and shown_sha256 != card_request.identity_sha256:
        raise Conflict(
            f"card request #{card_request.pk}: the identity you were shown is not the one this "
            "request carries; open the request again and check it",
            code="identity_changed",
            field="identity_sha256",
        )


def _decide(card_request: CardRequest, *, status: str, reason: str, by) -> CardRequest:
    extra = ()
    if status == CardRequest.Status.APPROVED:
        card_request.approved_identity_sha256 = card_request.identity_sha256
        extra = ("approved_identity_sha256",)
    return four_eyes_decide(
        card_request,
        status=status,
        by=by,
        reason_field="decision_reason",
        reason=reason,
        extra=extra,
    )


@transaction.atomic
def card_request_approve(
    *,
    card_request: CardRequest,
    by,
    reason: str = "",
    batch=None,
    identity_sha256: str | None = None,
) -> CardRequest:
    """Approve the request for the identity it carries. `identity_sha256` is the hash of the
    snapshot the approver was shown (the back office and the API pass it): a request whose
    snapshot is not that one is refused."""
    card_request = _lock_for_decision(card_request, by)
    _check_snapshot(card_request, identity_sha256)
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
    # In the same transaction: what follows an approval (personalization's job, registered at
    # start-up: cards/approvals.py) exists if and only if the approval does.
    approval_hooks_run(card_request=card_request, by=by, batch=batch)
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
    """Withdraw a request that nobody has decided on yet. Only its submitter may: another
    officer who disagrees with it rejects it (which is audited as a decision)."""
    if not by.has_perm("cards.cancel_cardrequest"):
        raise NotAllowed("you are not allowed to cancel card requests")
    reason = _text("reason", reason)
    locked = (
        CardRequest.objects.select_for_update(no_key=True, of=("self",))
        .select_related("professional", "card_profile", "profile_version", "submitted_by")
        .get(pk=card_request.pk)
    )
    if locked.submitted_by_id != by.pk:
        raise NotAllowed(
            f"only {locked.submitted_by.get_username()}, who submitted card request "
            f"#{locked.pk}, can cancel it; an approving officer can reject it"
        )
    if CardRequest.Status.CANCELLED not in TRANSITIONS[locked.status]:
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


def card_request_complete(*, card_request_id: int) -> None:
    """Its card is personalized: approved -> completed, in the caller's transaction (the
    runner's finish, which audits the card). One conditional UPDATE: only an approved request
    completes (the database also refuses a completion without a decider)."""
    if not update_where(
        CardRequest,
        {"status": Status.COMPLETED},
        {"id": card_request_id, "status": Status.APPROVED},
    ):
        status = (
            CardRequest.objects.filter(pk=card_request_id).values_list("status", flat=True).first()
        )
        msg = f"card request #{card_request_id} is {status or 'gone'}, not approved: no completion"
        raise Conflict(msg, code="not_approved")
