"""The runner's own check of what it is about to make, from the database as it is now.

A job row is not proof of an approval: a row inserted by hand, a request whose snapshot was
edited, or a decision forged by an UPDATE must never yield a card. So before the first key is
made on a card (at every start or resumption of a job) and again right before its certificates
are signed, the runner re-reads the request and checks that it is approved under four eyes for
the identity snapshot it carries (shared/THREATS.md, "an officer after approval", "a host with
broker access"). A failed check fails the job cleanly: its card is failed, any certificate
already issued for it revoked, and the failure audited with the reason.
"""

from __future__ import annotations

from cards.models import Card, CardActionRequest, CardRequest
from config.errors import DomainError
from issuance.identity import Identity, identity_sha256


class ApprovalMismatch(DomainError):
    """The job's request is not (or no longer) approved for the identity it carries."""

    code = "approval_mismatch"
    status = 409


def approved_identity(card_request_id: int) -> Identity:
    """The identity the request was approved for, after checking that it was: approved, by an
    officer other than its submitter, for the snapshot it still carries. Raises
    ApprovalMismatch naming what is wrong."""
    card_request = (
        CardRequest.objects.filter(pk=card_request_id)
        .only(
            "pk",
            "status",
            "submitted_by_id",
            "decided_by_id",
            "decided_at",
            "identity",
            "identity_sha256",
            "approved_identity_sha256",
        )
        .first()
    )
    if card_request is None:
        msg = f"card request #{card_request_id} does not exist"
        raise ApprovalMismatch(msg)
    prefix = f"card request #{card_request.pk}"
    if card_request.status != CardRequest.Status.APPROVED:
        msg = f"{prefix} is {card_request.status}, not approved: no card is made for it"
        raise ApprovalMismatch(msg)
    if card_request.decided_by_id is None or card_request.decided_at is None:
        msg = f"{prefix} has no recorded decider: no card is made for it"
        raise ApprovalMismatch(msg)
    if card_request.decided_by_id == card_request.submitted_by_id:
        msg = f"{prefix} was approved by its own submitter: no card is made for it"
        raise ApprovalMismatch(msg)
    if not card_request.approved_identity_sha256 or (
        card_request.approved_identity_sha256 != card_request.identity_sha256
    ):
        msg = f"{prefix}: the approval does not cover the identity snapshot it carries"
        raise ApprovalMismatch(msg)
    if identity_sha256(card_request.identity) != card_request.identity_sha256:
        msg = f"{prefix}: its identity snapshot does not match the hash that was approved"
        raise ApprovalMismatch(msg)
    try:
        return Identity.from_json(card_request.identity)
    except (TypeError, ValueError) as exc:
        msg = f"{prefix}: its identity snapshot cannot be read ({exc})"
        raise ApprovalMismatch(msg) from None


UNBLOCKABLE = ("active", "delivered")


def approved_unblock(job) -> None:
    """An unblock job runs only for its approved request (four eyes, as the database says now)
    on a card in use: ApprovalMismatch naming what is wrong otherwise."""
    action = (
        CardActionRequest.objects.filter(pk=job.card_action_id)
        .only("pk", "action", "status", "card_id", "requested_by_id", "decided_by_id")
        .first()
    )
    prefix = f"unblock request #{job.card_action_id}"
    if action is None or action.action != CardActionRequest.Action.UNBLOCK:
        msg = f"{prefix} is not an unblock request: nothing is unblocked"
        raise ApprovalMismatch(msg)
    if action.status != CardActionRequest.Status.APPROVED or action.decided_by_id in (
        None,
        action.requested_by_id,
    ):
        msg = f"{prefix} is {action.status}, not approved by a second officer"
        raise ApprovalMismatch(msg)
    status = Card.objects.filter(pk=job.card_id).values_list("status", flat=True).first()
    if action.card_id != job.card_id or status not in UNBLOCKABLE:
        msg = f"{prefix}: its card is {status or 'gone'}, not in use: nothing is unblocked"
        raise ApprovalMismatch(msg)


def job_approved(job) -> Identity | None:
    """The check a job's runs make before they act on a card, by its kind: a personalization's
    approved identity, or an unblock's approved request (then None)."""
    if job.kind == "unblock":
        approved_unblock(job)
        return None
    return approved_identity(job.card_request_id)
