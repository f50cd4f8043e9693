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


def card_face_pdf(
    document: CardDocument, *, template: str = "documents/card_face.html", back: bool = True
) -> bytes:
    """ID-1 pages for the card printer: the front, then the back (`back`)."""
    return _pdf(
        template,
        {"card": document, "width_mm": ID1_WIDTH_MM, "height_mm": ID1_HEIGHT_MM, "back": back},
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
