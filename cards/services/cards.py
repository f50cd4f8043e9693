"""A card's states: this module is the only one that changes them (docs/card-lifecycle.md).

TRANSITIONS says which service makes each move. Personalization makes a card (card_new,
card_personalized, card_fail); an officer records it handed over (card_deliver); the holder
activates it by signing a challenge with its authentication key (card_activate); approved
card action requests (card_actions.py) suspend, resume and revoke it; a scheduled task expires
it; a returned card is destroyed. Every move that changes what a relying party may trust
changes the card's certificates in the same transaction (hold, release, revoke: the CRL is
regenerated after commit and OCSP answers from the database at once).
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from django.db import transaction
from django.utils import timezone

from audit.events import EventType
from audit.services import audit_record
from cards.models import ActivationChallenge, Card, CardRequest
from cards.services.card_requests import card_request_complete
from cards.services.secrets import pin_mailer_destroy
from config.errors import Conflict, FieldError, NotAllowed, ValidationFailed
from config.statements import update_where
from issuance.validators import luhn_check_digit
from pki.models import Certificate
from pki.reasons import RevocationReason
from pki.services.revocation import card_certificates_revoke

Status = Card.Status
Reason = Card.RevocationReason
NEW = "(new)"  # before the card's row exists
_REVOKE = "card_revoke (an approved revocation request, an emergency revocation, or a newer card "
_REVOKE += "of the same profile activated: superseded)"
TRANSITIONS: dict[str, dict[str, str]] = {
    NEW: {Status.PERSONALIZING: "card_new (the blank card its job found; identify_card)"},
    Status.PERSONALIZING: {
        Status.PERSONALIZED: "card_personalized (its job finished)",
        Status.FAILED: "card_fail (its job failed or was abandoned)",
    },
    Status.PERSONALIZED: {
        Status.DELIVERED: "card_deliver (an officer handed it over or posted it)",
        Status.REVOKED: _REVOKE,
        Status.EXPIRED: "cards_expire (the scheduled task)",
    },
    Status.DELIVERED: {
        Status.ACTIVE: "card_activate (the holder signed a challenge with the card's 9A key)",
        Status.REVOKED: _REVOKE,
        Status.EXPIRED: "cards_expire (the scheduled task)",
    },
    Status.ACTIVE: {
        Status.SUSPENDED: "card_suspend (an approved suspension request)",
        Status.REVOKED: _REVOKE,
        Status.EXPIRED: "cards_expire (the scheduled task)",
    },
    Status.SUSPENDED: {
        Status.ACTIVE: "card_resume (an approved resumption request)",
        Status.REVOKED: _REVOKE,
        Status.EXPIRED: "cards_expire (the scheduled task)",
    },
    Status.REVOKED: {Status.DESTROYED: "card_destroy (the returned card was destroyed)"},
    Status.EXPIRED: {Status.DESTROYED: "card_destroy (the returned card was destroyed)"},
    Status.FAILED: {Status.DESTROYED: "card_destroy (the spoiled card was destroyed)"},
    Status.DESTROYED: {},
}

# What happened to a card -> the RFC 5280 reason its certificates are revoked with. A lost or
# stolen card's keys may be used by whoever has it: key compromise, so relying parties distrust
# signatures from then on. A holder who left the profession loses the privilege the
# certificates attest.
CERTIFICATE_REASONS: dict[str, RevocationReason] = {
    Reason.LOST: RevocationReason.KEY_COMPROMISE,
    Reason.STOLEN: RevocationReason.KEY_COMPROMISE,
    Reason.DAMAGED: RevocationReason.CESSATION_OF_OPERATION,
    Reason.KEY_COMPROMISE: RevocationReason.KEY_COMPROMISE,
    Reason.DECEASED: RevocationReason.CESSATION_OF_OPERATION,
    Reason.LEFT_PROFESSION: RevocationReason.PRIVILEGE_WITHDRAWN,
    Reason.SUPERSEDED: RevocationReason.SUPERSEDED,
}

ACTIVATION_CHALLENGE_BYTES = 32
ACTIVATION_CHALLENGE_TTL = dt.timedelta(minutes=10)
# Challenges a card may have open at once: asking for another withdraws the oldest (anyone may
# ask, so nobody can fill the table for a card).
ACTIVATION_CHALLENGES_OPEN = 3


def card_transition_check(card: Card, to: str) -> None:
    """Conflict (code card_transition_refused) unless TRANSITIONS allows `card` to become `to`
    now, naming both states."""
    if to not in TRANSITIONS[card.status]:
        allowed = ", ".join(Status(state).label.lower() for state in TRANSITIONS[card.status])
        msg = (
            f"card {card.serial} is {card.get_status_display().lower()}; it cannot become "
            f"{Status(to).label.lower()}"
            + (f" (it can become: {allowed})" if allowed else " (it is final)")
        )
        raise Conflict(msg, code="card_transition_refused", field="status")


def card_locked(card: Card) -> Card:
    """The card's row, locked for a move, in the caller's transaction."""
    return (
        Card.objects.select_for_update(no_key=True, of=("self",))
        .select_related("professional", "card_profile")
        .get(pk=card.pk)
    )


def _move(card: Card, to: str, **fields: Any) -> None:
    """`card` (locked by the caller) becomes `to`, with `fields` set, if TRANSITIONS allows."""
    card_transition_check(card, to)
    card.status = to
    for name, value in fields.items():
        setattr(card, name, value)
    card.save(update_fields=["status", *fields])


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


def card_personalized(*, card: Card, now: dt.datetime, made: Mapping[str, Any]) -> None:
    """Its job finished: it becomes personalized and its request completed, in the caller's
    transaction (the runner's finish). `made` says how (the station, the job, its
    certificates) for the audit event. The holder's earlier card of the profile stays as it
    is until this one is activated (card_activate), so they are never without a working card."""
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


NOTE_MAX_LENGTH = 500


def note_checked(field: str, value: str, *, required: bool = False) -> str:
    """An officer's note (a comment, why): stripped, at most NOTE_MAX_LENGTH characters, and
    there when `required`; ValidationFailed naming `field` otherwise."""
    value = (value or "").strip()
    if required and not value:
        raise ValidationFailed([FieldError(field, "say why (it goes in the audit trail)")])
    if len(value) > NOTE_MAX_LENGTH:
        raise ValidationFailed([FieldError(field, f"at most {NOTE_MAX_LENGTH} characters")])
    return value


# --- delivery and activation --------------------------------------------------------------------


def card_deliver(*, card: Card, by, comment: str = "") -> Card:
    """An officer handed the card to its holder (or posted it): delivered, waiting for the
    holder to activate it."""
    comment = note_checked("comment", comment)
    if by is None or not by.has_perm("cards.deliver_card"):
        raise NotAllowed("you may not record cards delivered")
    with transaction.atomic():
        card = card_locked(card)
        now = timezone.now()
        _move(card, Status.DELIVERED, delivered_at=now)
        audit_record(
            event=EventType.CARD_DELIVERED,
            actor=by,
            obj=card,
            payload={"serial": card.serial, "comment": comment},
        )
    return card


def _check_activatable(card: Card) -> None:
    card_transition_check(card, Status.ACTIVE)
    if card.status != Status.DELIVERED:  # suspended -> active is a resumption, approved
        msg = (
            f"card {card.serial} is {card.get_status_display().lower()}; only a delivered card "
            "is activated by its holder (a suspended one is resumed by an approved request)"
        )
        raise Conflict(msg, code="card_transition_refused", field="status")


def card_activation_challenge(*, card: Card) -> ActivationChallenge:
    """A new one-time challenge for the holder's card to sign (valid ACTIVATION_CHALLENGE_TTL).
    Only for a delivered card, so nobody can collect challenges for cards not handed over; the
    oldest open ones (and expired ones) are withdrawn beyond ACTIVATION_CHALLENGES_OPEN."""
    now = timezone.now()
    with transaction.atomic():
        card = card_locked(card)
        _check_activatable(card)
        open_challenges = list(
            ActivationChallenge.objects.filter(card=card, used_at__isnull=True, expires_at__gt=now)
            .order_by("-created_at", "-pk")
            .values_list("pk", flat=True)
        )
        ActivationChallenge.objects.filter(card=card).exclude(
            pk__in=open_challenges[: ACTIVATION_CHALLENGES_OPEN - 1]
        ).filter(used_at__isnull=True).delete()
        return ActivationChallenge.objects.create(
            card=card,
            challenge=secrets.token_bytes(ACTIVATION_CHALLENGE_BYTES),
            created_at=now,
            expires_at=now + ACTIVATION_CHALLENGE_TTL,
        )


def _authentication_certificate(card: Card) -> x509.Certificate:
    row = Certificate.objects.for_card(card).valid().filter(card_slot="9A").only("der").first()
    if row is None:
        msg = f"card {card.serial} has no valid authentication (9A) certificate to prove"
        raise Conflict(msg, code="card_not_activatable")
    return x509.load_der_x509_certificate(bytes(row.der))


def _signature_verifies(certificate: x509.Certificate, signature: bytes, data: bytes) -> bool:
    """ECDSA with SHA-256, or RSA PKCS#1 v1.5 with SHA-256: what PIV middleware signs with the
    authentication key (pkcs11-tool -m ECDSA-SHA256 / SHA256-RSA-PKCS)."""
    key = certificate.public_key()
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        else:
            return False
    except (InvalidSignature, ValueError):
        return False
    return True


def card_activate(*, card: Card, challenge_id: int, signature: bytes) -> Card:
    """The holder proves they hold the card and its PIN: the card's authentication key (9A,
    used only after the PIN) signed challenge `challenge_id`. The card becomes active, its
    unread PIN mailer is destroyed, and the holder's other live cards of the same profile
    are revoked (superseded): this card replaces them. A wrong signature is audited and
    refused; a challenge is used once."""
    with transaction.atomic():
        card = card_locked(card)
        _check_activatable(card)
        now = timezone.now()
        challenge = (
            ActivationChallenge.objects.select_for_update(no_key=True)
            .filter(pk=challenge_id, card=card)
            .first()
        )
        if challenge is None or challenge.used_at is not None or challenge.expires_at <= now:
            raise ValidationFailed(
                [FieldError("challenge", "unknown, used or expired; ask for a new challenge")]
            )
        challenge.used_at = now  # one attempt per challenge, right or wrong
        challenge.save(update_fields=["used_at"])
        if not _signature_verifies(
            _authentication_certificate(card), signature, bytes(challenge.challenge)
        ):
            audit_record(
                event=EventType.CARD_ACTIVATION_REFUSED,
                obj=card,
                payload={"serial": card.serial, "challenge": challenge.pk},
            )
            refused = True
        else:
            refused = False
            _move(card, Status.ACTIVE, activated_at=now)
            superseded = [
                card_revoke(
                    card=earlier,
                    reason=Reason.SUPERSEDED,
                    by=None,
                    comment=f"superseded by card {card.serial}, activated",
                ).serial
                for earlier in Card.objects.live()
                .filter(professional_id=card.professional_id, card_profile_id=card.card_profile_id)
                .exclude(pk=card.pk)
                .select_for_update(no_key=True, of=("self",))
                .order_by("pk")
            ]
            audit_record(
                event=EventType.CARD_ACTIVATED,
                obj=card,
                payload={
                    "serial": card.serial,
                    "challenge": challenge.pk,
                    "superseded": superseded,
                    "pin_mailer_destroyed": pin_mailer_destroy(card),
                },
            )
    if refused:  # committed: the used challenge and the audited refusal stay
        raise ValidationFailed(
            [FieldError("signature", "does not verify with the card's authentication key")]
        )
    return card


# --- suspension, resumption, revocation (card_actions.py asks; these act) ---------------------


def card_suspend(*, card: Card, by, comment: str = "", request=None) -> Card:
    """Active -> suspended: every valid certificate of the card put on hold. In the caller's
    transaction, on the card's locked row."""
    card_transition_check(card, Status.SUSPENDED)
    held = card_certificates_revoke(
        card=card, reason=RevocationReason.CERTIFICATE_HOLD, by=by, comment=comment
    )
    _move(card, Status.SUSPENDED)
    audit_record(
        event=EventType.CARD_SUSPENDED,
        actor=by,
        obj=card,
        payload={
            "serial": card.serial,
            "held": held,
            "request": getattr(request, "pk", None),
            "comment": comment[:500],
        },
    )
    return card


def card_resume(*, card: Card, by, comment: str = "", request=None) -> Card:
    """Suspended -> active: the card's certificates on hold released (removeFromCRL)."""
    card_transition_check(card, Status.ACTIVE)
    if card.status != Status.SUSPENDED:
        msg = f"card {card.serial} is {card.get_status_display().lower()}, not suspended"
        raise Conflict(msg, code="card_transition_refused", field="status")
    released = card_certificates_revoke(
        card=card, reason=RevocationReason.REMOVE_FROM_CRL, by=by, comment=comment
    )
    _move(card, Status.ACTIVE)
    audit_record(
        event=EventType.CARD_RESUMED,
        actor=by,
        obj=card,
        payload={
            "serial": card.serial,
            "released": released,
            "request": getattr(request, "pk", None),
            "comment": comment[:500],
        },
    )
    return card


def card_revoke(
    *, card: Card, reason: str, by, comment: str = "", request=None, emergency: bool = False
) -> Card:
    """Revoked for `reason` (Card.RevocationReason): every certificate of the card still
    valid or on hold revoked with the matching RFC 5280 reason, its unread PIN mailer
    destroyed. In the caller's transaction, on the card's locked row."""
    try:
        reason = Reason(reason)
    except ValueError:
        names = ", ".join(Reason.values)
        raise ValidationFailed(
            [FieldError("reason", f"unknown reason {reason!r} (use one of {names})")]
        ) from None
    card_transition_check(card, Status.REVOKED)
    revoked = card_certificates_revoke(
        card=card, reason=CERTIFICATE_REASONS[reason], by=by, comment=comment
    )
    _move(card, Status.REVOKED, revoked_at=timezone.now(), revocation_reason=reason)
    audit_record(
        event=EventType.CARD_REVOKED,
        actor=by,
        obj=card,
        payload={
            "serial": card.serial,
            "reason": reason.value,
            "certificate_reason": CERTIFICATE_REASONS[reason].label,
            "revoked": revoked,
            "pin_mailer_destroyed": pin_mailer_destroy(card),
            "request": getattr(request, "pk", None),
            "emergency": emergency,
            "comment": comment[:500],
        },
    )
    return card


# --- the end of a card ---------------------------------------------------------------------------


def cards_expire(*, now: dt.datetime | None = None) -> list[str]:
    """Live cards past their expiry become expired (their certificates expire with them: no
    CRL entry). The scheduled task runs it; the serials it expired."""
    now = now or timezone.now()
    expired = []
    with transaction.atomic():
        for card in (
            Card.objects.live()
            .filter(expires_at__lte=now)
            .select_for_update(no_key=True, of=("self",))
            .order_by("pk")
        ):
            _move(card, Status.EXPIRED)
            audit_record(
                event=EventType.CARD_EXPIRED,
                obj=card,
                payload={
                    "serial": card.serial,
                    "expires_at": card.expires_at.isoformat(),
                    "pin_mailer_destroyed": pin_mailer_destroy(card),
                },
            )
            expired.append(card.serial)
    return expired


def card_destroy(*, card: Card, by, comment: str = "") -> Card:
    """A card that can no longer be used (revoked, expired, failed) came back and was
    physically destroyed."""
    comment = note_checked("comment", comment)
    if by is None or not by.has_perm("cards.destroy_card"):
        raise NotAllowed("you may not record cards destroyed")
    with transaction.atomic():
        card = card_locked(card)
        _move(card, Status.DESTROYED, destroyed_at=timezone.now())
        audit_record(
            event=EventType.CARD_DESTROYED,
            actor=by,
            obj=card,
            payload={"serial": card.serial, "comment": comment},
        )
    return card
