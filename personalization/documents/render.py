"""PDF documents for a card: the card face proof for card printers, the carrier letter, and the
one-time PIN mailer. Rendered with WeasyPrint from templates/documents/.

The data each document needs is gathered into a `CardDocument` first, so templates see plain
values and only the PIN mailer's context ever holds the PIN and PUK.
"""

from __future__ import annotations

import base64
import mimetypes
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from urllib.request import url2pathname

from django.conf import settings
from django.template.loader import render_to_string
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

from personalization.documents.fitting import Box, FittedText, Font, fit_text

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


class DocumentURLFetcher(URLFetcher):
    """What a document may load: `data:` URLs (the photo) and files under the project's static
    directories. WeasyPrint's default fetcher follows any URL a template or a value puts in an
    `<img>`, a stylesheet or a CSS `url()`: file:///etc/passwd, the KEK file, an internal HTTP
    service or a cloud metadata endpoint (SSRF). Anything else raises, which WeasyPrint logs and
    skips (the document renders without it)."""

    def fetch(self, url, headers=None):
        scheme = url.partition(":")[0].lower()
        if scheme == "data":
            return super().fetch(url, headers)
        if scheme == "file":
            path = Path(url2pathname(url.removeprefix("file:").split("?")[0])).resolve()
            if any(path.is_relative_to(root) for root in _static_roots()) and path.is_file():
                content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                return URLFetcherResponse(
                    url, path.read_bytes(), headers={"Content-Type": content_type}
                )
        msg = f"documents load data: URLs and static files only, not {url[:80]!r}"
        raise ValueError(msg)


def _static_roots() -> list[Path]:
    # STATICFILES_DIRS entries may be (prefix, path) pairs.
    roots = [r[1] if isinstance(r, tuple | list) else r for r in settings.STATICFILES_DIRS]
    return [Path(root).resolve() for root in [*roots, settings.STATIC_ROOT] if root]


def html_to_pdf(html: str) -> bytes:
    return HTML(string=html, base_url=None, url_fetcher=DocumentURLFetcher()).write_pdf()


def _pdf(template: str, context: dict) -> bytes:
    return html_to_pdf(render_to_string(template, context))


# The card face is French, like its title and its holders, and prints dates as French cards do
# (dd/mm/yyyy). One language per face: Django i18n (French or English) comes with a later issue.
CARD_DATE_FORMAT = "%d/%m/%Y"

# Where the card face's variable text goes (mm from the top left corner of ID-1). Every box has a
# fixed place and size, so no text can push another off the card: the text is fitted to its box
# instead (fitting.py). The fixed parts of card_face.html (band, chip, photo, labels) are drawn
# around them: the boxes keep 4 mm from the card's right edge and 3 mm from its bottom edge (card
# printers print to the edge unevenly), clear of the chip's contact area (ISO/IEC 7816-2, 9.5 to
# 20.5 mm across, 18.5 to 27.5 mm down) and of the photo (from 62.6 mm across, down to 36 mm).
_FRONT_LEFT_MM = 4.0
_FRONT_WIDTH_MM = ID1_WIDTH_MM - 2 * _FRONT_LEFT_MM  # below the photo: to 4 mm from the edge
NAME_BOX = Box(
    left_mm=_FRONT_LEFT_MM,
    top_mm=29.0,
    width_mm=56.5,  # stops 2 mm short of the photo
    height_mm=12.7,
    # 3 lines at 3.4 mm, ..., 6 at 1.8 mm: 62 "W" each (issuance/names.py) fit at the smallest.
    sizes_mm=(3.4, 3.1, 2.8, 2.5, 2.2, 2.0, 1.8),
    font=Font.SANS_BOLD,
    line_height=1.15,
)
PROFESSION_BOX = Box(
    left_mm=_FRONT_LEFT_MM,
    top_mm=42.2,
    width_mm=_FRONT_WIDTH_MM,
    height_mm=5.3,
    sizes_mm=(2.6, 2.4, 2.2, 2.0, 1.8),  # one line down to 2.4 mm, then two
)
RPPS_BOX = Box(
    left_mm=_FRONT_LEFT_MM,
    top_mm=47.8,
    width_mm=_FRONT_WIDTH_MM,
    height_mm=2.9,
    sizes_mm=(2.3, 2.0, 1.8),
    font=Font.MONO,
)
# The back is two columns: the labels (card_face.html, .back .label: 5 to 26.5 mm across), then
# the values, so a long value wraps inside its column and never under its label.
_VALUE_LEFT_MM = 27.0
_VALUE_WIDTH_MM = ID1_WIDTH_MM - 5.0 - _VALUE_LEFT_MM
_ROW_MM = 3.6  # a row of one line, 2.4 mm type (labels and values are set at line-height 1.25)


def _value_box(
    top_mm: float, height_mm: float, sizes_mm: tuple[float, ...], *, font: Font = Font.SANS
) -> Box:
    return Box(
        left_mm=_VALUE_LEFT_MM,
        top_mm=top_mm,
        width_mm=_VALUE_WIDTH_MM,
        height_mm=height_mm,
        sizes_mm=sizes_mm,
        font=font,
        line_height=1.25,
    )


SERIAL_BOX = _value_box(12.5, _ROW_MM, (2.4, 2.1, 1.8), font=Font.MONO)
EXPIRES_BOX = _value_box(12.5 + _ROW_MM, _ROW_MM, (2.4,))
# 4 lines at 2.4 mm, ..., 6 at 1.8 mm: "first last" of 62 "W" each fits at the smallest.
HOLDER_BOX = _value_box(20.2, 14.8, (2.4, 2.2, 2.0, 1.8))
ORGANISATION_BOX = _value_box(35.4, 6.0, (2.4, 2.2, 2.0, 1.8))  # the notice starts at 42.5 mm


@dataclass(frozen=True)
class CardFaceText:
    """The card face's variable text, each in its box at the size it fits."""

    name: FittedText
    profession: FittedText
    rpps: FittedText
    serial: FittedText
    expires: FittedText
    holder: FittedText
    organisation: FittedText | None


def card_face_text(document: CardDocument) -> CardFaceText:
    """Measure and wrap what the card face prints about `document` into its boxes."""
    profession = " — ".join(part for part in (document.profession, document.specialty) if part)
    return CardFaceText(
        # The first name, then the last name in capitals, each from a new line.
        name=fit_text([document.first_name, document.last_name.upper()], NAME_BOX),
        profession=fit_text([profession], PROFESSION_BOX),
        rpps=fit_text([f"RPPS {document.rpps}"], RPPS_BOX),
        serial=fit_text([document.card_serial], SERIAL_BOX),
        expires=fit_text([document.expires_on.strftime(CARD_DATE_FORMAT)], EXPIRES_BOX),
        holder=fit_text([document.holder_name], HOLDER_BOX),
        organisation=(
            fit_text([document.organisation], ORGANISATION_BOX) if document.organisation else None
        ),
    )


def card_face_pdf(
    document: CardDocument, *, template: str = "documents/card_face.html", back: bool = True
) -> bytes:
    """ID-1 pages for the card printer: the front, then the back (`back`)."""
    return _pdf(
        template,
        {
            "card": document,
            "text": card_face_text(document),
            "width_mm": ID1_WIDTH_MM,
            "height_mm": ID1_HEIGHT_MM,
            "back": back,
        },
    )


def carrier_pdf(document: CardDocument, *, template: str = "documents/carrier.html") -> bytes:
    """The A4 letter the card is glued to; the address shows in a window envelope. No PIN."""
    return _pdf(template, {"card": document})


def pin_mailer_pdf(
    document: CardDocument,
    *,
    pin: str,
    puk: str | None,
    template: str = "documents/pin_mailer.html",
) -> bytes:
    """The one-time PIN mailer. The only document, and the only template context, with secrets."""
    return _pdf(template, {"card": document, "pin": pin, "puk": puk})
