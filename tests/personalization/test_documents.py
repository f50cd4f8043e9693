"""Card documents as a card printer, a mail room and a holder get them: ID-1 card face, carrier
letter without the PIN, PIN mailer with it. Checked with poppler (pdfinfo, pdftotext)."""

from __future__ import annotations

import dataclasses
import io
import re
import subprocess
from datetime import date

import pytest
from PIL import Image

from personalization.documents.render import (
    CardDocument,
    card_face_pdf,
    carrier_pdf,
    photo_data_uri,
    pin_mailer_pdf,
)
from tests.long_names import LONGEST

pytestmark = pytest.mark.poppler

PIN, PUK = "482913", "73015528"


@pytest.fixture(scope="module")
def document() -> CardDocument:
    photo = io.BytesIO()
    Image.new("RGB", (60, 80), "#446688").save(photo, "JPEG")
    return CardDocument(
        card_serial="CF-TEST-0042",
        holder_name="Élodie Lefèvre-Nguyễn",
        first_name="Élodie",
        last_name="Lefèvre-Nguyễn",
        profession="Physician",
        profession_code=10,
        rpps="10000000017",
        specialty="General practice",
        organisation="Centre hospitalier de Démo",
        expires_on=date(2029, 11, 29),
        issued_on=date(2026, 11, 29),
        address_lines=["Élodie Lefèvre-Nguyễn", "12 rue de la Santé", "75013 Paris"],
        country="FR",
        profile_name="hpc-physician",
        photo_data_uri=photo_data_uri(photo.getvalue()),
    )


def _text(pdf: bytes, tmp_path, name: str) -> str:
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def _info(pdf: bytes, tmp_path) -> dict[str, str]:
    path = tmp_path / "info.pdf"
    path.write_bytes(pdf)
    output = subprocess.run(
        ["pdfinfo", str(path)], capture_output=True, text=True, check=True
    ).stdout
    return dict(line.split(":", 1) for line in output.splitlines() if ":" in line)


def _digits(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_card_face_is_two_id1_pages_with_the_holder(document, tmp_path):
    pdf = card_face_pdf(document)
    info = _info(pdf, tmp_path)
    assert info["Pages"].strip() == "2"
    width, height = (float(v) for v in re.findall(r"[\d.]+", info["Page size"])[:2])
    # 85.60 x 53.98 mm in PostScript points (1 pt = 25.4/72 mm), within a hundredth of a mm.
    assert abs(width * 25.4 / 72 - 85.60) < 0.01
    assert abs(height * 25.4 / 72 - 53.98) < 0.01
    text = _text(pdf, tmp_path, "face")
    for expected in (
        "Élodie",
        "LEFÈVRE-NGUYỄN",
        "Physician",
        "RPPS 10000000017",
        "CF-TEST-0042",
        "29/11/2029",
    ):
        assert expected in text
    assert PIN not in _digits(text)


def test_carrier_has_the_address_and_no_pin(document, tmp_path):
    text = _text(carrier_pdf(document), tmp_path, "carrier")
    assert "Élodie Lefèvre-Nguyễn" in text
    assert "75013 Paris" in text
    assert "PIN and PUK come in a separate letter" in text
    assert PIN not in _digits(text)
    assert PUK not in _digits(text)


def test_pin_mailer_holds_pin_and_puk(document, tmp_path):
    text = _text(pin_mailer_pdf(document, pin=PIN, puk=PUK), tmp_path, "mailer")
    assert "Élodie Lefèvre-Nguyễn" in text
    assert PIN in _digits(text)
    assert PUK in _digits(text)


@pytest.mark.parametrize("script", list(LONGEST))
def test_the_card_face_holds_the_longest_names(document, tmp_path, script):
    """A long name gets a smaller type and wraps, so the profession and the RPPS number stay on
    the card (before, the longest Latin names pushed them off its edge)."""
    first_name, last_name = LONGEST[script]
    long_named = dataclasses.replace(
        document,
        first_name=first_name,
        last_name=last_name,
        holder_name=f"{first_name} {last_name}",
    )
    front, back = _text(card_face_pdf(long_named), tmp_path, "face").split("\f")[:2]
    assert "Physician" in front
    assert "RPPS 10000000017" in front
    if script != "arabic":  # pdftotext gives right-to-left runs in its own order
        assert first_name in _digits(front)
        assert last_name.upper() in _digits(front)
        assert _digits(long_named.holder_name) in _digits(back)


@pytest.mark.parametrize("script", list(LONGEST))
def test_the_letters_keep_the_postal_address_for_the_longest_names(document, tmp_path, script):
    """The recipient's name takes at most three lines of the envelope window: the address
    below it always shows."""
    first_name, last_name = LONGEST[script]
    holder = f"{first_name} {last_name}"
    long_named = dataclasses.replace(
        document,
        first_name=first_name,
        last_name=last_name,
        holder_name=holder,
        address_lines=[holder, "12 rue de la Santé", "75013 Paris"],
    )
    for name, pdf in (
        ("carrier", carrier_pdf(long_named)),
        ("mailer", pin_mailer_pdf(long_named, pin=PIN, puk=PUK)),
    ):
        text = _text(pdf, tmp_path, name)
        assert "12 rue de la Santé" in text, name
        assert "75013 Paris" in text, name
        if script != "arabic":  # pdftotext gives right-to-left runs in its own order
            assert _digits(f"Dear {holder},") in _digits(text), name
