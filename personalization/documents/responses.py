"""A card document as an HTTP download, for the API and the back office alike."""

from __future__ import annotations

from django.http import HttpResponse
from django.utils.cache import add_never_cache_headers

from cards.models import Card

FILENAMES = {
    "card-face": "card-face-{serial}.pdf",
    "carrier": "carrier-{serial}.pdf",
    "pin-mailer": "pin-mailer-{serial}.pdf",
}


def pdf_response(pdf: bytes, *, card: Card, kind: str) -> HttpResponse:
    """An attachment no cache may keep: the documents carry personal data, and the PIN
    mailer the PIN and PUK (a copy in a cache would outlive its one download)."""
    response = HttpResponse(pdf, content_type="application/pdf")
    filename = FILENAMES[kind].format(serial=card.serial)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    add_never_cache_headers(response)
    return response
