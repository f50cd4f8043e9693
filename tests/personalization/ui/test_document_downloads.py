"""A personalized card's documents, downloaded through the API and the back office as a card
printer and a mail room get them: the holder's name in each, the PIN in the PIN mailer only,
the card face at ID-1 size, and the PIN mailer once (a second download is refused, and the
download is audited once). Checked with poppler (pdftotext, pdfinfo)."""

from __future__ import annotations

import re
import subprocess

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from audit.events import EventType
from audit.models import AuditEvent
from cards.models import Card, PinMailer
from cards.services.cards import card_fail
from cards.services.secrets import pin_mailer_secrets
from tests.factories import sign_in_verified
from tests.personalization.ui.conftest import job_of

pytestmark = [pytest.mark.poppler, pytest.mark.django_db]


def _pdf_text(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "document.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def _page_size_mm(pdf: bytes, tmp_path) -> tuple[float, float]:
    path = tmp_path / "size.pdf"
    path.write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    size = next(line for line in info.splitlines() if line.startswith("Page size:"))
    width, height = (float(v) * 25.4 / 72 for v in re.findall(r"[\d.]+", size)[:2])
    return width, height


def _digits(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _assert_pdf(response, filename: str) -> bytes:
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="{filename}"'
    assert "no-store" in response["Cache-Control"]
    assert response.content.startswith(b"%PDF")
    return response.content


def _downloads(card) -> int:
    return AuditEvent.objects.filter(
        event=EventType.PIN_MAILER_DOWNLOADED, object_id=str(card.pk)
    ).count()


def test_documents_through_the_api(api, users, personalize, tmp_path):
    card = personalize()
    name = card.professional.full_name
    # Read the sealed PIN and PUK before the download destroys them.
    pin, puk = (secret.reveal().decode() for secret in pin_mailer_secrets(card.pin_mailer))
    operator = api.as_user(users[Role.ENCODING_OPERATOR])

    face = _assert_pdf(
        operator.get(f"/api/v1/cards/{card.pk}/card-face.pdf"), f"card-face-{card.serial}.pdf"
    )
    width, height = _page_size_mm(face, tmp_path)
    assert abs(width - 85.60) < 0.01
    assert abs(height - 53.98) < 0.01
    carrier = _assert_pdf(
        operator.get(f"/api/v1/cards/{card.pk}/carrier.pdf"), f"carrier-{card.serial}.pdf"
    )
    detail = operator.get(f"/api/v1/cards/{card.pk}/").json()
    assert detail["documents"]["pin_mailer"].endswith(f"/api/v1/cards/{card.pk}/pin-mailer.pdf")
    assert detail["pin_mailer"] == {"available": True, "downloaded_at": None, "downloaded_by": None}

    mailer = _assert_pdf(
        operator.post(f"/api/v1/cards/{card.pk}/pin-mailer.pdf"), f"pin-mailer-{card.serial}.pdf"
    )

    face_text, carrier_text, mailer_text = (
        _pdf_text(pdf, tmp_path) for pdf in (face, carrier, mailer)
    )
    assert card.professional.first_name in face_text
    assert card.professional.last_name.upper() in face_text
    assert card.serial in _digits(face_text)
    assert name in carrier_text
    assert name in mailer_text
    assert pin in _digits(mailer_text)
    assert puk in _digits(mailer_text)
    for text in (face_text, carrier_text):
        assert pin not in _digits(text)
        assert puk not in _digits(text)

    second = operator.post(f"/api/v1/cards/{card.pk}/pin-mailer.pdf")
    assert second.status_code == 409
    error = second.json()
    assert error["code"] == "pin_mailer_gone"
    assert "already downloaded" in error["message"]
    assert "encoding-operator" in error["message"]
    assert error["errors"] == []
    assert _downloads(card) == 1
    assert PinMailer.objects.get(card=card).sealed is None

    detail = operator.get(f"/api/v1/cards/{card.pk}/").json()
    assert detail["documents"]["pin_mailer"] is None
    assert detail["documents"]["card_face"] is not None
    assert detail["pin_mailer"]["available"] is False
    assert detail["pin_mailer"]["downloaded_by"] == "encoding-operator"
    # A client that asks for a PDF still gets errors in the one JSON shape.
    third = operator.post(f"/api/v1/cards/{card.pk}/pin-mailer.pdf", HTTP_ACCEPT="application/pdf")
    assert third.status_code == 409
    assert third.json()["code"] == "pin_mailer_gone"


def test_documents_through_the_back_office(web, users, personalize, tmp_path):
    card = personalize()
    pin, _ = pin_mailer_secrets(card.pin_mailer)
    sign_in_verified(web, users[Role.ENCODING_OPERATOR])
    page = web.get(reverse("card-detail", args=[card.pk])).content.decode()
    assert 'id="pin-mailer-form"' in page
    for slot in ("9A", "9C", "9D", "9E"):
        assert f"<strong>{slot}</strong>" in page

    face = _assert_pdf(
        web.get(reverse("card-face", args=[card.pk])), f"card-face-{card.serial}.pdf"
    )
    assert card.professional.first_name in _pdf_text(face, tmp_path)
    carrier = _assert_pdf(
        web.get(reverse("card-carrier", args=[card.pk])), f"carrier-{card.serial}.pdf"
    )
    assert card.professional.full_name in _pdf_text(carrier, tmp_path)

    # A GET never burns the PIN mailer.
    assert web.get(reverse("card-pin-mailer", args=[card.pk])).status_code == 405
    mailer = _assert_pdf(
        web.post(reverse("card-pin-mailer", args=[card.pk])), f"pin-mailer-{card.serial}.pdf"
    )
    assert pin.reveal().decode() in _digits(_pdf_text(mailer, tmp_path))

    second = web.post(reverse("card-pin-mailer", args=[card.pk]), follow=True)
    page = second.content.decode()
    assert "already downloaded" in page
    assert 'id="pin-mailer-form"' not in page
    assert 'id="pin-mailer-downloaded"' in page
    assert "by <strong>encoding-operator</strong>" in page
    assert _downloads(card) == 1


def _personalizing_card(request) -> Card:
    """The card of `request`'s job as identify_card leaves it: being personalized."""
    return Card.objects.create(
        serial="261234567897",
        professional=request.professional,
        card_request=request,
        card_profile=request.card_profile,
        profile_version=request.profile_version,
        station=job_of(request).station,
        expires_at=timezone.now(),
    )


def test_documents_wait_for_a_personalized_card(api, users, waiting):
    card = _personalizing_card(waiting())
    operator = api.as_user(users[Role.ENCODING_OPERATOR])
    detail = operator.get(f"/api/v1/cards/{card.pk}/").json()
    assert detail["documents"] == {"card_face": None, "carrier": None, "pin_mailer": None}
    for method, name in (("get", "card-face"), ("get", "carrier"), ("post", "pin-mailer")):
        response = getattr(operator, method)(f"/api/v1/cards/{card.pk}/{name}.pdf")
        assert response.status_code == 409
        assert response.json()["code"] == "card_not_personalized"


def test_a_failed_cards_pin_mailer_is_destroyed_unread(web, api, users, waiting):
    """The card never became usable: its PIN and PUK are not kept, the page says so, and
    nothing can be downloaded."""
    card = _personalizing_card(waiting())
    PinMailer.objects.create(card=card, sealed=b"sealed PIN and PUK")
    with transaction.atomic():
        ended = card_fail(card=card, comment="card personalization failed")
    assert ended.pin_mailer_destroyed
    assert PinMailer.objects.get(card=card).sealed is None

    sign_in_verified(web, users[Role.ENCODING_OPERATOR])
    page = web.get(reverse("card-detail", args=[card.pk])).content.decode()
    assert "Personalization failed: this card gets no documents." in page
    assert 'id="pin-mailer-destroyed"' in page
    assert 'id="pin-mailer-form"' not in page
    operator = api.as_user(users[Role.ENCODING_OPERATOR])
    detail = operator.get(f"/api/v1/cards/{card.pk}/").json()
    assert detail["pin_mailer"]["available"] is False
    refused = operator.post(f"/api/v1/cards/{card.pk}/pin-mailer.pdf")
    assert (refused.status_code, refused.json()["code"]) == (409, "card_not_personalized")
