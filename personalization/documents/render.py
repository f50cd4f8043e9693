"""PDF documents for a card: the card face proof for card printers, the carrier letter, and the
one-time PIN mailer. Rendered with WeasyPrint from templates/documents/.

The data each document needs is gathered into a `CardDocument` first, so templates see plain
values and only the PIN mailer's context ever holds the PIN and PUK.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import date

from django.template.loader import render_to_string
from weasyprint import HTML

# ISO/IEC 7810 ID-1, the size of a bank or health card.
ID1_WIDTH_MM = 85.60
ID1_HEIGHT_MM = 53.98


@dataclass(frozen=True)
class CardDocument:
    """What the documents print about one card; no secret."""

    card_serial: str
    holder_name: str
    first_name: str
    last_name: str
    profession: str
    profession_code: int
    rpps: str
    specialty: str
    organisation: str
    expires_on: date
    issued_on: date
    address_lines: list[str]
    country: str
    profile_name: str
    title: str = "Carte de professionnel de santé"
    accent_color: str = "#0b5cad"
    photo_data_uri: str | None = None
    issuer: str = "CardForge"
    extra: dict = field(default_factory=dict)


def photo_data_uri(image_bytes: bytes, content_type: str = "image/jpeg") -> str:
    return f"data:{content_type};base64,{base64.b64encode(image_bytes).decode('ascii')}"


def _pdf(template: str, context: dict) -> bytes:
    html = render_to_string(template, context)
    return HTML(string=html, base_url=None).write_pdf()


def card_face_pdf(document: CardDocument, *, template: str = "documents/card_face.html") -> bytes:
    """Two ID-1 pages, front and back, for the card printer."""
    return _pdf(
        template,
        {"card": document, "width_mm": ID1_WIDTH_MM, "height_mm": ID1_HEIGHT_MM},
    )


def carrier_pdf(document: CardDocument, *, template: str = "documents/carrier.html") -> bytes:
    """The A4 letter the card is glued to; the address shows in a window envelope. No PIN."""
    return _pdf(template, {"card": document})


def pin_mailer_pdf(
    document: CardDocument, *, pin: str, puk: str, template: str = "documents/pin_mailer.html"
) -> bytes:
    """The one-time PIN mailer. The only document, and the only template context, with secrets."""
    return _pdf(template, {"card": document, "pin": pin, "puk": puk})
