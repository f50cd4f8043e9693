"""A card's secrets at rest: its PIN mailer (PIN and PUK) and its escrowed keys, sealed under
the KEK (config/sealing.py), each bound to its purpose and owner so a blob cannot be opened as
another card's or as another kind of secret. Never logged, never in an audit payload."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from django.utils import timezone

from cardedge.piv import Pin, Puk
from cards.models import Card, EscrowedKey, ManagedPuk, PinMailer
from config.errors import Conflict
from config.sealing import seal, unseal


def pin_mailer_seal(*, card: Card, pin: Pin, puk: Puk | None) -> PinMailer:
    """Keep the card's new PIN and PUK until its mailer is downloaded (the signer seals them
    before the card learns them, so a crash cannot lose them). `puk` None: the profile manages
    the PUK (managed_puk_keep), and the mailer carries the PIN alone."""
    plaintext = json.dumps(
        {"pin": pin.reveal().decode(), "puk": puk.reveal().decode() if puk else None}
    )
    blob = seal(plaintext.encode(), purpose=PinMailer.SEAL_PURPOSE, owner=card.serial)
    return PinMailer.objects.create(card=card, sealed=blob)


def pin_mailer_renew(*, card: Card, pin: Pin) -> PinMailer:
    """A new one-time PIN mailer for the card (the PIN only: an unblock keeps the managed PUK),
    replacing the one it had, downloaded or not."""
    plaintext = json.dumps({"pin": pin.reveal().decode(), "puk": None})
    blob = seal(plaintext.encode(), purpose=PinMailer.SEAL_PURPOSE, owner=card.serial)
    mailer, created = PinMailer.objects.get_or_create(card=card, defaults={"sealed": blob})
    if not created:
        mailer.sealed, mailer.downloaded_at, mailer.downloaded_by = blob, None, None
        mailer.save(update_fields=["sealed", "downloaded_at", "downloaded_by"])
    return mailer


def pin_mailer_secrets(mailer: PinMailer) -> tuple[Pin, Puk | None]:
    values = json.loads(
        unseal(mailer.sealed, purpose=PinMailer.SEAL_PURPOSE, owner=mailer.card.serial)
    )
    return Pin(values["pin"]), Puk(values["puk"]) if values.get("puk") else None


def pin_mailer_take(*, card: Card, by) -> tuple[Pin, Puk | None]:
    """The PIN and PUK, once: the sealed value is destroyed and the download recorded, in the
    caller's transaction (which makes the mailer and audits it); a second take is refused."""
    mailer = PinMailer.objects.select_for_update(no_key=True).filter(card=card).first()
    if mailer is None or mailer.sealed is None:
        when = (
            f" on {timezone.localtime(mailer.downloaded_at):%Y-%m-%d %H:%M} by "
            f"{mailer.downloaded_by.get_username() if mailer.downloaded_by else 'the system'}"
            if mailer is not None and mailer.downloaded_at
            else ""
        )
        raise Conflict(
            f"the PIN mailer of card {card.serial} was already downloaded{when}; it exists once",
            code="pin_mailer_gone",
        )
    mailer.card = card  # the same row: no second query for the serial the seal is bound to
    secrets = pin_mailer_secrets(mailer)
    mailer.sealed = None
    mailer.downloaded_at = timezone.now()
    mailer.downloaded_by = by
    mailer.save(update_fields=["sealed", "downloaded_at", "downloaded_by"])
    return secrets


def pin_mailer_destroy(card: Card) -> bool:
    """Destroy the sealed PIN and PUK of a card that will never be used (failed, replaced) if
    its PIN mailer was not downloaded: nobody can download it any more (documents are made for
    personalized cards only), and a secret nobody can use is not kept. True if one was.
    Call it in the transaction that ends the card, which audits it."""
    return bool(PinMailer.objects.filter(card=card, sealed__isnull=False).update(sealed=None))


def managed_puk_keep(*, card: Card, puk: Puk) -> ManagedPuk:
    """Keep the PUK of a card whose profile manages it, sealed under the KEK for the signer
    (replacing one kept by an interrupted run of the same job)."""
    ManagedPuk.objects.filter(card=card).delete()
    return ManagedPuk.objects.create(
        card=card,
        sealed=seal(puk.reveal(), purpose=ManagedPuk.SEAL_PURPOSE, owner=card.serial),
    )


def managed_puk_open(card: Card) -> Puk:
    """The card's managed PUK: only where the signer's secrets are."""
    row = ManagedPuk.objects.get(card=card)
    sealed = bytes(row.sealed)
    return Puk(unseal(sealed, purpose=ManagedPuk.SEAL_PURPOSE, owner=card.serial).decode())


def escrowed_key_keep(*, card: Card, slot: str, private_der: bytes, public_pem: str) -> None:
    """Escrow a centrally made private key (PKCS#8 DER) of `slot`, replacing one kept for the
    slot by an earlier, interrupted run of the same job."""
    EscrowedKey.objects.filter(card=card, slot=slot).delete()
    EscrowedKey.objects.create(
        card=card,
        slot=slot,
        sealed_private_key=seal(
            private_der, purpose=EscrowedKey.SEAL_PURPOSE, owner=f"{card.serial}/{slot}"
        ),
        public_key_sha256=hashlib.sha256(public_pem.encode()).hexdigest(),
    )


def escrowed_key_open(escrowed: EscrowedKey) -> bytes:
    """The escrowed private key, PKCS#8 DER: a secret, opened only where the signer's secrets
    are (for a holder's new card, or a recovery approved by two officers)."""
    return unseal(
        bytes(escrowed.sealed_private_key),
        purpose=EscrowedKey.SEAL_PURPOSE,
        owner=f"{escrowed.card.serial}/{escrowed.slot}",
    )


# Retired-key slots a card has (SP 800-73-4: 82 to 95).
RETIRED_SLOTS = 20


@dataclass(frozen=True)
class EarlierKey:
    """An escrowed key of a holder's earlier card, opened for the signer: it goes to their new
    card's retired-key slots. `private_der` is a secret (never logged, journalled or shown)."""

    card: Card  # the earlier card
    slot: str
    private_der: bytes = field(repr=False)


def escrowed_keys_of_holder(*, card: Card, slot: str = "9D") -> list[EarlierKey]:
    """The escrowed `slot` keys of the holder's other cards (any profile), newest card first,
    at most RETIRED_SLOTS: what `card` receives in its retired-key slots. Opened here, in the
    signer's process: only it holds the key that unseals them."""
    rows = (
        EscrowedKey.objects.filter(card__professional_id=card.professional_id, slot=slot)
        .exclude(card_id=card.pk)
        # A card whose personalization failed never had documents encrypted to it.
        .exclude(card__status__in=[Card.Status.FAILED, Card.Status.PERSONALIZING])
        .select_related("card")
        .order_by("-card__created_at", "-card_id")[:RETIRED_SLOTS]
    )
    return [
        EarlierKey(
            card=row.card,
            slot=slot,
            private_der=escrowed_key_open(row),
        )
        for row in rows
    ]
