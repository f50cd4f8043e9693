"""The card's documents: card face and carrier (no secret, rendered on demand) and the one-time
PIN mailer (rendered once from the sealed PIN and PUK, which are then destroyed)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from audit.events import EventType
from audit.services import audit_record
from cards.models import Card
from cards.services.secrets import pin_mailer_take
from config.errors import Conflict, NotAllowed
from issuance.identity import Identity, PhotoMismatch, approved_photo_uri
from personalization.documents.render import (
    CardDocument,
    card_face_pdf,
    carrier_pdf,
    pin_mailer_pdf,
)

DOCUMENTS = ("card-face", "carrier")


def _approved_photo(holder: Identity) -> str | None:
    """The photo the request was approved with, as a data: URI; None without one."""
    try:
        return approved_photo_uri(holder)
    except PhotoMismatch as exc:
        raise Conflict(
            f"{exc}; the card's documents cannot be made", code="photo_mismatch"
        ) from None


def card_document_data(card: Card) -> CardDocument:
    """What the card's documents say, from the identity its request was approved for (never
    the live registry record, which may have changed since)."""
    holder = card.card_request.snapshot
    visual = card.profile_version.definition.get("visual", {})
    return CardDocument(
        card_serial=card.serial,
        holder_name=holder.full_name,
        first_name=holder.first_name,
        last_name=holder.last_name,
        profession=holder.profession_label,
        profession_code=holder.profession,
        rpps=holder.rpps,
        specialty=holder.specialty,
        organisation=holder.organisation_name,
        expires_on=timezone.localdate(card.expires_at),
        issued_on=timezone.localdate(card.issued_at or card.created_at),
        address_lines=holder.postal_address_lines,
        country=holder.country,
        profile_name=card.card_profile.name,
        title=visual.get("title", "Carte de professionnel de santé"),
        accent_color=visual.get("accent_color", "#0b5cad"),
        photo_data_uri=_approved_photo(holder),
    )


def _template(card: Card, kind: str) -> str:
    key = {"card-face": "card_face", "carrier": "carrier", "pin-mailer": "pin_mailer"}[kind]
    return card.profile_version.definition["documents"][key]


# A card's documents go with it to its holder: made once it is personalized, until it is
# activated (the holder has it, and has used the PIN of the mailer).
DOCUMENT_STATES = (Card.Status.PERSONALIZED, Card.Status.DELIVERED)


def _check_personalized(card: Card) -> None:
    if card.status not in DOCUMENT_STATES:
        raise Conflict(
            f"card {card.serial} is {card.get_status_display().lower()}; its documents are "
            "made for a personalized card until it is activated",
            code="card_not_personalized",
        )


@transaction.atomic
def card_document_render(*, card: Card, kind: str, by) -> bytes:
    """The card face (for the card printer) or the carrier letter, as PDF; audited."""
    if not by.has_perm("cards.download_card_documents"):
        raise NotAllowed("you are not allowed to download card documents")
    _check_personalized(card)
    data = card_document_data(card)
    template = _template(card, kind)
    pdf = (
        card_face_pdf(data, template=template)
        if kind == "card-face"
        else carrier_pdf(data, template=template)
    )
    audit_record(
        event=EventType.CARD_DOCUMENT_DOWNLOADED,
        actor=by,
        obj=card,
        payload={"serial": card.serial, "document": kind},
    )
    return pdf


@transaction.atomic
def pin_mailer_download(*, card: Card, by) -> bytes:
    """The PIN mailer, once: the sealed PIN and PUK are destroyed in the same transaction that
    records the download, so a second download is refused."""
    if not by.has_perm("cards.download_pinmailer"):
        raise NotAllowed("you are not allowed to download PIN mailers")
    _check_personalized(card)
    # Taken once: destroyed in this transaction, which a failed rendering rolls back.
    pin, puk = pin_mailer_take(card=card, by=by)
    pdf = pin_mailer_pdf(
        card_document_data(card),
        pin=pin.reveal().decode(),
        puk=puk.reveal().decode() if puk else None,
        template=_template(card, "pin-mailer"),
    )
    audit_record(
        event=EventType.PIN_MAILER_DOWNLOADED,
        actor=by,
        obj=card,
        payload={"serial": card.serial, "professional": card.professional.rpps},
    )
    return pdf
