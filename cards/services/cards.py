"""A card's states: this module is the only one that changes them.

The table says which move each service makes; everything else (the runner's steps and its
finish, abandoning a job) calls these services. The card lifecycle (delivery, activation,
suspension, revocation) extends the table here.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from audit.events import EventType
from audit.services import audit_record
from cards.models import Card, CardRequest
from cards.services.card_requests import card_request_complete
from cards.services.secrets import pin_mailer_destroy
from config.errors import Conflict
from config.statements import pks_where, update_where
from issuance.validators import luhn_check_digit
from pki.reasons import RevocationReason
from pki.services.revocation import card_certificates_revoke

Status = Card.Status
NEW = "(new)"  # before the card's row exists
TRANSITIONS: dict[str, dict[str, str]] = {
    NEW: {Status.PERSONALIZING: "card_new (the blank card its job found; identify_card)"},
    Status.PERSONALIZING: {
        Status.PERSONALIZED: "card_personalized (its job finished)",
        Status.FAILED: "card_fail (its job failed or was abandoned)",
    },
    Status.PERSONALIZED: {
        Status.REPLACED: "card_personalized of a newer card of the same profile",
    },
    Status.FAILED: {},
    Status.REPLACED: {},
}


def _allowed(card: Card, to: str) -> None:
    if to not in TRANSITIONS[card.status]:
        msg = f"card {card.serial} is {card.get_status_display().lower()}; it cannot become {to}"
        raise Conflict(msg, code="card_transition_refused")


# A card serial has 9 random digits a year: among tens of thousands of cards a year two will
# draw the same (the birthday bound), so a serial another card holds is drawn again by the
# caller that inserts the card (identify_card).
def card_serial_new() -> str:
    """12 digits: year, 9 random digits, a Luhn check digit (as printed on the card)."""
    payload = f"{timezone.now():%y}{secrets.randbelow(10**9):09d}"
    return payload + luhn_check_digit(payload)


def card_serial_redraw(card: Card) -> None:
    """Another card holds the serial drawn for this one (not yet inserted): draw again."""
    card.serial = card_serial_new()


def card_new(*, card_request: CardRequest, station: Any, emulated_card: Any = None) -> Card:
    """The card a job is about to make (not saved: the step that finds the blank card inserts
    it in the transaction that journals it). Personalizing, with a new serial, valid for its
    profile version's validity from now."""
    version = card_request.profile_version
    return Card(
        serial=card_serial_new(),
        professional=card_request.professional,
        card_request=card_request,
        card_profile=card_request.card_profile,
        profile_version=version,
        station=station,
        emulated_card=emulated_card,
        status=Status.PERSONALIZING,
        expires_at=timezone.now() + dt.timedelta(days=version.validity_days),
    )


def _replace_earlier(card: Card) -> list[str]:
    """The professional's personalized cards of this card's profile become replaced (locked,
    their certificates revoked as superseded, PIN mailers destroyed, each audited). They go
    first: a professional has one personalized card of a profile at a time."""
    previous_pks = pks_where(
        Card,
        {
            "professional_id": card.professional_id,
            "card_profile_id": card.card_profile_id,
            "status": Status.PERSONALIZED,
        },
        for_update=True,
    )
    replaced = []
    for previous in Card.objects.filter(pk__in=previous_pks) if previous_pks else ():
        _allowed(previous, Status.REPLACED)
        previous.status = Status.REPLACED
        previous.save(update_fields=["status"])
        serials = card_certificates_revoke(
            card=previous,
            reason=RevocationReason.SUPERSEDED,
            comment=f"replaced by card {card.serial}",
        )
        audit_record(
            event=EventType.CARD_REPLACED,
            obj=previous,
            payload={
                "serial": previous.serial,
                "by_card": card.serial,
                "revoked": serials,
                "pin_mailer_destroyed": pin_mailer_destroy(previous),
            },
        )
        replaced.append(previous.serial)
    return replaced


def card_personalized(*, card: Card, now: dt.datetime, made: Mapping[str, Any]) -> list[str]:
    """Its job finished: the cards it replaces are replaced, it becomes personalized and its
    request completed, in the caller's transaction (the runner's finish). `made` says how (the
    station, the job, its certificates) for the audit event. The serials of the replaced
    cards."""
    replaced = _replace_earlier(card)
    # Locks the card's row; only a card still being personalized becomes good.
    if not update_where(
        Card,
        {"status": Status.PERSONALIZED, "issued_at": now},
        {"id": card.pk, "status": Status.PERSONALIZING},
    ):
        status = Card.objects.filter(pk=card.pk).values_list("status", flat=True).first()
        msg = f"card {card.serial} is {status or 'gone'}, no longer being personalized"
        raise Conflict(msg, code="card_not_personalizing")
    card.status = Status.PERSONALIZED
    card.issued_at = now
    card_request_complete(card_request_id=card.card_request_id)
    request = card.card_request
    audit_record(
        event=EventType.CARD_PERSONALIZED,
        obj=card,
        payload={
            "serial": card.serial,
            "professional": request.professional.rpps,
            "profile": request.card_profile.name,
            "profile_version": request.profile_version.number,
            **made,
        },
    )
    return replaced


@dataclass(frozen=True)
class CardEnded:
    """What ending a card did, for the caller's audit event."""

    revoked: list[str]  # serials of the certificates revoked
    pin_mailer_destroyed: bool  # its sealed PIN and PUK, never downloaded, destroyed


def card_fail(*, card: Card | None, comment: str, by=None) -> CardEnded:
    """A card still being personalized will never be finished (its job failed, or was
    abandoned by `by`): it becomes failed, every certificate issued for it is revoked
    (cessationOfOperation) and its PIN mailer destroyed. Nothing for a card in any other state.
    Call it in the transaction that ends the job, which audits it."""
    if card is None or card.status != Status.PERSONALIZING:
        return CardEnded(revoked=[], pin_mailer_destroyed=False)
    card.status = Status.FAILED
    card.save(update_fields=["status"])
    return CardEnded(
        revoked=card_certificates_revoke(
            card=card, reason=RevocationReason.CESSATION_OF_OPERATION, comment=comment, by=by
        ),
        pin_mailer_destroyed=pin_mailer_destroy(card),
    )
