"""Suspending, resuming and revoking a card: one officer asks, another approves (four eyes,
config/four_eyes.py), and the approval acts at once through cards.py, in its transaction; an
administrator's emergency revocation acts alone and is flagged as such in the audit trail.

A request is checked against the card's state when it is made (a request that could never be
carried out is refused with the reason) and again when it is approved (the card may have moved
meanwhile: a suspension approved after the card was revoked is refused, not half done).
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.events import EventType
from audit.services import audit_record
from cardprofiles.schema import puk_managed
from cards.approvals import unblock_hooks
from cards.models import Card, CardActionRequest
from cards.services.cards import (
    NOTE_MAX_LENGTH,
    card_locked,
    card_resume,
    card_revoke,
    card_suspend,
    card_transition_check,
    note_checked,
)
from config.errors import Conflict, FieldError, NotAllowed, ValidationFailed
from config.four_eyes import four_eyes_decide, four_eyes_lock

Action = CardActionRequest.Action
COMMENT_MAX_LENGTH = NOTE_MAX_LENGTH
# What each action makes of the card.
TARGET = {
    Action.SUSPEND: Card.Status.SUSPENDED,
    Action.RESUME: Card.Status.ACTIVE,
    Action.REVOKE: Card.Status.REVOKED,
}
# Only what a suspended card can become by resumption (delivered -> active is the holder's).
FROM = {Action.RESUME: Card.Status.SUSPENDED, Action.SUSPEND: Card.Status.ACTIVE}


def _parse(action: str, reason: str) -> tuple[str, str]:
    if action not in Action.values:
        names = ", ".join(Action.values)
        raise ValidationFailed([FieldError("action", f"unknown action {action!r} ({names})")])
    reason = (reason or "").strip()
    if action == Action.REVOKE:
        if reason not in Card.RevocationReason.values:
            names = ", ".join(Card.RevocationReason.values)
            what = f"unknown reason {reason!r}" if reason else "a revocation needs a reason"
            raise ValidationFailed([FieldError("reason", f"{what} (use one of {names})")])
    elif reason:
        raise ValidationFailed(
            [FieldError("reason", f"only a revocation has a reason, not {action}")]
        )
    return action, reason


UNBLOCKABLE = (Card.Status.ACTIVE, Card.Status.DELIVERED)


def _check_unblock(card: Card) -> None:
    """A card in use, whose profile keeps its PUK (a given PUK is the holder's: they unblock
    with it themselves)."""
    if card.status not in UNBLOCKABLE:
        msg = (
            f"card {card.serial} is {card.get_status_display().lower()}; only an active or "
            "delivered card is unblocked"
        )
        raise Conflict(msg, code="card_transition_refused", field="status")
    if not puk_managed(card.profile_version.definition):
        msg = (
            f"the PUK of card {card.serial} was given to its holder (profile "
            f"{card.card_profile.name}): they unblock the card with it, or ask for a replacement"
        )
        raise Conflict(msg, code="puk_not_managed", field="action")


def _check_state(card: Card, action: str) -> None:
    if action == Action.UNBLOCK:
        _check_unblock(card)
        return
    card_transition_check(card, TARGET[action])
    expected = FROM.get(action)
    if expected is not None and card.status != expected:
        msg = (
            f"card {card.serial} is {card.get_status_display().lower()}; only a "
            f"{Card.Status(expected).label.lower()} card can be {action}d"
        )
        raise Conflict(msg, code="card_transition_refused", field="status")


def card_action_request(
    *, card: Card, action: str, by, reason: str = "", comment: str = ""
) -> CardActionRequest:
    """Ask for `action` on `card` ("suspend", "resume", "revoke" with a Card.RevocationReason);
    another officer approves."""
    action, reason = _parse(action, reason)
    comment = note_checked("comment", comment)
    if not (getattr(by, "is_authenticated", False) and by.has_perm("cards.request_cardaction")):
        raise NotAllowed("you may not ask for card suspensions, resumptions or revocations")
    with transaction.atomic():
        card = card_locked(card)
        _check_state(card, action)
        if CardActionRequest.objects.pending().filter(card=card).exists():
            msg = f"card {card.serial} already has a pending action request; decide that first"
            raise Conflict(msg, code="card_action_pending", field="card")
        try:
            with transaction.atomic():
                request = CardActionRequest.objects.create(
                    card=card,
                    action=action,
                    reason=reason,
                    comment=comment,
                    requested_by=by,
                    requested_at=timezone.now(),
                )
        except IntegrityError:  # another officer's request for the card, at the same moment
            msg = f"card {card.serial} already has a pending action request; decide that first"
            raise Conflict(msg, code="card_action_pending", field="card") from None
        audit_record(
            event=EventType.CARD_ACTION_REQUESTED,
            actor=by,
            obj=request,
            payload={
                "card": card.serial,
                "action": action,
                "reason": reason,
                "comment": comment,
            },
        )
    return request


def card_action_approve(
    *, card_action: CardActionRequest, by, comment: str = ""
) -> CardActionRequest:
    """Approve another officer's request: it takes effect now, with the card's certificates
    (held, released or revoked), in one transaction."""
    comment = note_checked("comment", comment)
    with transaction.atomic():
        request = four_eyes_lock(
            CardActionRequest.objects.select_related("requested_by"),
            card_action.pk,
            by=by,
            not_allowed="you may not decide card action requests",
        )
        card = card_locked(request.card)
        _check_state(card, request.action)  # the card may have moved since it was asked
        four_eyes_decide(
            request,
            status=CardActionRequest.Status.APPROVED,
            by=by,
            reason_field="decision_comment",
            reason=comment,
        )
        note = request.comment or comment
        if request.action == Action.SUSPEND:
            card_suspend(card=card, by=by, comment=note, request=request)
        elif request.action == Action.RESUME:
            card_resume(card=card, by=by, comment=note, request=request)
        elif request.action == Action.UNBLOCK:
            # Done at a station with the card present: the job that does it is made now.
            request.card = card
            for hook in unblock_hooks():
                hook(request, by)
        else:
            card_revoke(card=card, reason=request.reason, by=by, comment=note, request=request)
    request.card = card
    return request


def card_action_reject(
    *, card_action: CardActionRequest, by, comment: str = ""
) -> CardActionRequest:
    comment = note_checked("comment", comment, required=True)
    with transaction.atomic():
        request = four_eyes_lock(
            CardActionRequest.objects.select_related("requested_by", "card"),
            card_action.pk,
            by=by,
            not_allowed="you may not decide card action requests",
        )
        four_eyes_decide(
            request,
            status=CardActionRequest.Status.REJECTED,
            by=by,
            reason_field="decision_comment",
            reason=comment,
        )
        audit_record(
            event=EventType.CARD_ACTION_REJECTED,
            actor=by,
            obj=request,
            payload={
                "card": request.card.serial,
                "action": request.action,
                "requested_by": request.requested_by.get_username(),
                "comment": comment,
            },
        )
    return request


def card_action_cancel(*, card_action: CardActionRequest, by) -> CardActionRequest:
    """The officer who asked withdraws their pending request."""
    with transaction.atomic():
        request = (
            CardActionRequest.objects.select_for_update(no_key=True, of=("self",))
            .select_related("card")
            .get(pk=card_action.pk)
        )
        if getattr(by, "pk", None) != request.requested_by_id:
            raise NotAllowed("only the officer who asked can cancel a card action request")
        if request.status != CardActionRequest.Status.PENDING:
            msg = f"card action request #{request.pk} is already {request.status}"
            raise Conflict(msg, code="already_decided")
        request.withdraw()
        audit_record(
            event=EventType.CARD_ACTION_CANCELLED,
            actor=by,
            obj=request,
            payload={"card": request.card.serial, "action": request.action},
        )
    return request


def card_revoke_emergency(*, card: Card, reason: str, by, comment: str) -> Card:
    """An administrator revokes a card alone, at once (a stolen card used right now, a holder
    struck off overnight): flagged `emergency` in the audit event, with the reason given. A
    pending request for the card is cancelled by it."""
    _, reason = _parse(Action.REVOKE, reason)
    comment = note_checked("comment", comment, required=True)
    if not (getattr(by, "is_authenticated", False) and by.has_perm("cards.revoke_card_emergency")):
        raise NotAllowed("only an administrator may revoke a card without a second officer")
    with transaction.atomic():
        card = card_locked(card)
        card_revoke(card=card, reason=reason, by=by, comment=comment, emergency=True)
        for pending in CardActionRequest.objects.pending().filter(card=card):
            pending.withdraw()
            audit_record(
                event=EventType.CARD_ACTION_CANCELLED,
                actor=by,
                obj=pending,
                payload={
                    "card": card.serial,
                    "action": pending.action,
                    "why": "the card was revoked in an emergency",
                },
            )
    return card


# --- PIN unblock: asked and approved here, done at a station (personalization) ------------------


def card_unblocked(*, card: Card, card_action_id: int, made: dict) -> None:
    """An approved unblock was done at a station: the card has a new PIN (its new mailer is
    sealed), its PUK is unchanged. In the caller's transaction (the job's finish)."""
    audit_record(
        event=EventType.CARD_PIN_UNBLOCKED,
        obj=card,
        payload={"serial": card.serial, "request": card_action_id, **made},
    )
