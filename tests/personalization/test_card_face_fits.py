"""The card face fits every name enrolment accepts, as a card printer gets it: the longest names
of each script (tests/long_names.py) and the 88-character name of the card printers issue are
rendered, read back with poppler (pdftotext -bbox, pdftoppm) and looked at with Pillow. Nothing
may leave the card or come near its edge, the RPPS number, the card number and the expiry date
must be printed, a value must never wrap under its label, and the face speaks one language,
French, with dates as dd/mm/yyyy."""

from __future__ import annotations

import dataclasses
import io
import re
import subprocess
import unicodedata
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from PIL import Image

from personalization.documents.fitting import ELLIPSIS, Box, Font, fit_text, text_width_em
from personalization.documents.render import (
    CardDocument,
    card_face_pdf,
    card_face_text,
    photo_data_uri,
)
from tests.long_names import LONGEST

pytestmark = pytest.mark.poppler

MM_PER_POINT = 25.4 / 72
DPI = 150
RPPS, SERIAL, EXPIRES = "10000000017", "CF-TEST-0042", "05/03/2029"
# The shortest names are ordinary; the 88 characters (with the space) of the widest
# letter sat just under the old template's "longest" class and pushed the RPPS line off the card.
CASES = {
    "ordinary": ("Élodie", "Lefèvre-Nguyễn"),
    "issue-88": ("W" * 44, "W" * 43),
    **LONGEST,
}
# Text stays this far from the bottom and right edges: card printers print to the edge unevenly.
EDGE_MARGIN_MM = 2.5
BAND_MM = 9.5  # the coloured title band runs to the right edge on purpose
DARK = 128  # an 8-bit grey level below which a pixel is ink (text is #14202e, grey labels #5b6577)
FRENCH_LABELS = ("N° de carte", "Expire le", "Titulaire", "Établissement")
ENGLISH = re.compile(
    r"\b(Card\s+no|Expires|Holder|Personal\s+card|If\s+found|return\s+it|revoked|chip|"
    r"no\s+photo|Card\s+face)\b",
    re.IGNORECASE,
)


@pytest.fixture(scope="module")
def document() -> CardDocument:
    photo = io.BytesIO()
    Image.new("RGB", (60, 80), "#446688").save(photo, "JPEG")
    return CardDocument(
        card_serial=SERIAL,
        holder_name="Élodie Lefèvre-Nguyễn",
        first_name="Élodie",
        last_name="Lefèvre-Nguyễn",
        profession="Médecin",
        profession_code=10,
        rpps=RPPS,
        # A real specialty, long enough to take a second line on the old card.
        specialty="Chirurgie thoracique et cardio-vasculaire",
        organisation="Centre hospitalier universitaire de Pointe-à-Pitre/Abymes",
        expires_on=date(2029, 3, 5),  # day and month under 13, zero-padded: 05/03/2029
        issued_on=date(2026, 3, 5),
        address_lines=["12 rue de la Santé", "97139 Les Abymes"],
        country="FR",
        profile_name="hpc-physician",
        photo_data_uri=photo_data_uri(photo.getvalue()),
    )


@dataclass(frozen=True)
class Word:
    text: str
    x_min: float  # mm from the page's left edge
    y_min: float  # mm from its top edge
    x_max: float
    y_max: float


@dataclass(frozen=True)
class Page:
    width: float  # mm
    height: float
    words: list[Word]

    @property
    def text(self) -> str:
        return " ".join(word.text for word in self.words)

    def find(self, text: str) -> Word | None:
        return next((word for word in self.words if word.text == text), None)


@dataclass(frozen=True)
class RenderedFace:
    document: CardDocument
    pages: list[Page]
    front: Image.Image  # grey levels, DPI dots per inch
    title: str  # the PDF's Title


def _pages(pdf: Path) -> list[Page]:
    bbox = subprocess.run(
        ["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    namespace = {"x": "http://www.w3.org/1999/xhtml"}
    pages = []
    for page in ET.fromstring(bbox).iterfind(".//x:page", namespace):
        words = [
            Word(
                word.text or "",
                *(float(word.get(key)) * MM_PER_POINT for key in ("xMin", "yMin", "xMax", "yMax")),
            )
            for word in page.iterfind("x:word", namespace)
        ]
        width, height = (float(page.get(key)) * MM_PER_POINT for key in ("width", "height"))
        pages.append(Page(width, height, words))
    return pages


@pytest.fixture(scope="module")
def rendered(document, tmp_path_factory):
    """rendered(case) -> the card face for that case's names, rendered and read back once."""
    faces: dict[str, RenderedFace] = {}

    def render(case: str) -> RenderedFace:
        if case not in faces:
            first_name, last_name = CASES[case]
            named = dataclasses.replace(
                document,
                first_name=first_name,
                last_name=last_name,
                holder_name=f"{first_name} {last_name}",
            )
            directory = tmp_path_factory.mktemp(case)
            pdf = directory / "face.pdf"
            pdf.write_bytes(card_face_pdf(named))
            front = directory / "front"  # pdftoppm adds .png
            subprocess.run(
                ["pdftoppm", "-r", str(DPI), "-png", "-singlefile", str(pdf), str(front)],
                check=True,
            )
            info = subprocess.run(
                ["pdfinfo", str(pdf)], capture_output=True, text=True, check=True
            ).stdout
            title = re.search(r"^Title:\s*(.*)$", info, re.MULTILINE)
            faces[case] = RenderedFace(
                document=named,
                pages=_pages(pdf),
                front=Image.open(directory / "front.png").convert("L"),
                title=title.group(1) if title else "",
            )
        return faces[case]

    return render


def _inside(word: Word, page: Page, margin: float = 0.0) -> bool:
    return (
        word.x_min >= margin
        and word.y_min >= margin
        and word.x_max <= page.width - margin
        and word.y_max <= page.height - margin
    )


def _is_ink(image: Image.Image, box: tuple[int, int, int, int]) -> bool:
    low, _high = image.crop(box).getextrema()
    return low < DARK


def _px(mm: float) -> int:
    return round(mm * DPI / 25.4)


@pytest.mark.parametrize("case", list(CASES))
def test_every_word_is_on_the_card_with_the_rpps_serial_and_expiry(rendered, case):
    """(a) Every word lies on its page; the RPPS number (front), the card number and the expiry
    date (back) are printed, clear of the edges. The old card lost the RPPS line of the issue's
    88-character name off its bottom edge, and printed the widest name's onto that edge."""
    face = rendered(case)
    front, back = face.pages
    for page in face.pages:
        outside = [word.text for word in page.words if not _inside(word, page)]
        assert not outside, f"{case}: words off the card: {outside}"
    for page, expected in ((front, RPPS), (back, SERIAL), (back, EXPIRES)):
        word = page.find(expected)
        assert word is not None, f"{case}: {expected} is not printed"
        assert _inside(word, page, margin=EDGE_MARGIN_MM), f"{case}: {expected} at the edge"


@pytest.mark.parametrize("case", list(CASES))
def test_the_front_rasterised_keeps_its_text_off_the_edges(rendered, case):
    """(b) At 150 dpi, no ink in the bottom strip nor (below the title band) in the right strip
    of the front, and the RPPS line is drawn, not clipped away."""
    face = rendered(case)
    image = face.front
    width, height = image.size
    margin = _px(EDGE_MARGIN_MM)
    assert not _is_ink(image, (0, height - margin, width, height)), f"{case}: ink at the bottom"
    assert not _is_ink(image, (width - margin, _px(BAND_MM), width, height)), f"{case}: at right"
    rpps = face.pages[0].find(RPPS)
    assert rpps is not None, f"{case}: no RPPS number on the front"
    box = (_px(rpps.x_min), _px(rpps.y_min), _px(rpps.x_max), _px(rpps.y_max))
    assert _is_ink(image, box), f"{case}: the RPPS line is blank"


@pytest.mark.parametrize("case", list(CASES))
def test_no_value_wraps_under_its_label(rendered, case):
    """(a) The back is two columns: every word of the holder's name and of the organisation
    starts where the values start (the card number's column). The old card wrapped a long
    holder name under "Holder"."""
    face = rendered(case)
    back = face.pages[1]
    column = back.find(SERIAL).x_min
    values = (face.document.holder_name, face.document.organisation)
    # Words of 3 letters or more, so "de" of a label is not taken for a value's; pdftotext
    # gives right-to-left words in visual order.
    value_words = [
        word
        for word in back.words
        if len(word.text) >= 3
        and any(word.text in value or word.text[::-1] in value for value in values)
    ]
    assert len(value_words) >= 2, f"{case}: the holder and the organisation are not printed"
    under_labels = [word.text for word in value_words if word.x_min < column - 0.1]
    assert not under_labels, f"{case}: under the labels: {under_labels}"


@pytest.mark.parametrize("case", list(CASES))
def test_the_card_face_is_in_french(rendered, case):
    """(c) One language per face: the title is French, so are the labels, the notice and the
    document's title; no English label is left."""
    face = rendered(case)
    front, back = face.pages
    for label in FRENCH_LABELS:
        assert label in back.text, f"{case}: no {label!r}"
    assert "Carte personnelle" in back.text
    for page in (front, back):
        assert not ENGLISH.search(page.text), ENGLISH.search(page.text)
    assert not ENGLISH.search(face.title), face.title


@pytest.mark.parametrize("case", list(CASES))
def test_dates_are_dd_mm_yyyy(rendered, case):
    """(d) Every date on the card is dd/mm/yyyy, as French cards print them."""
    face = rendered(case)
    dates = re.findall(r"\b\d{1,4}[./-]\d{1,2}[./-]\d{1,4}\b", " ".join(p.text for p in face.pages))
    assert dates == [EXPIRES], f"{case}: {dates}"


def test_a_card_without_photo_says_so_in_french(document, tmp_path):
    pdf = tmp_path / "face.pdf"
    pdf.write_bytes(card_face_pdf(dataclasses.replace(document, photo_data_uri=None), back=False))
    (front,) = _pages(pdf)
    assert "sans photo" in front.text
    assert not ENGLISH.search(front.text)


@pytest.mark.parametrize("case", list(CASES))
def test_names_are_printed_whole(document, case):
    """The boxes hold the longest names at their smallest size: a name is never cut."""
    first_name, last_name = CASES[case]
    text = card_face_text(
        dataclasses.replace(
            document,
            first_name=first_name,
            last_name=last_name,
            holder_name=f"{first_name} {last_name}",
        )
    )
    assert not text.name.cut
    assert not text.holder.cut
    printed = "".join(text.name.lines).replace(" ", "")
    assert printed == unicodedata.normalize("NFC", f"{first_name}{last_name.upper()}").replace(
        " ", ""
    )


def test_the_largest_size_that_fits_is_chosen():
    box = Box(left_mm=0, top_mm=0, width_mm=30, height_mm=8, sizes_mm=(4.0, 3.0, 2.0))
    assert fit_text(["Anne"], box).size_mm == 4.0
    assert fit_text(["Anne-Sophie-Marguerite"], box).size_mm < 4.0
    fitted = fit_text(["Anne-Sophie-Marguerite"], box)
    assert len(fitted.lines) <= box.lines_at(fitted.size_mm)


def test_text_that_fits_at_no_size_is_cut_with_an_ellipsis():
    box = Box(left_mm=0, top_mm=0, width_mm=20, height_mm=3, sizes_mm=(2.4, 2.0))
    fitted = fit_text(["Chirurgie thoracique et cardio-vasculaire " * 4], box)
    assert fitted.cut
    assert fitted.size_mm == 2.0
    assert len(fitted.lines) == 1
    assert fitted.lines[0].endswith(ELLIPSIS)


def test_a_character_without_a_dejavu_glyph_is_measured_as_a_full_em():
    """Chinese or Devanagari, which DejaVu lacks, measure wide, so they are set small rather
    than run out of their box whatever fallback font draws them."""
    assert text_width_em("李小龍", Font.SANS_BOLD) == pytest.approx(3.0)
    assert text_width_em("W", Font.SANS_BOLD) > 1.0  # DejaVu's own glyph, measured
