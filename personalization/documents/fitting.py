"""Fitting text into a fixed box of a printed document (plain Python, no Django).

A card face has no room to grow: whatever does not fit its box is pushed off the card or
printed over the chip or the photo. So text is measured, not counted in characters (sixty
"W" are three times as wide as sixty "i"), with Pillow on the fonts WeasyPrint draws it with
(DejaVu, fonts-dejavu-core), and wrapped here into the lines the template prints as they are.
The largest size from a short list at which the wrapped text fits the box's width and height
is chosen; text that fits at no size is cut, at the smallest, with an ellipsis.

A character DejaVu has no glyph for (Chinese, Devanagari, ...) is drawn by a fallback font when
one is installed, or as an empty box; either way it is measured as a full em, which is at least
its width in any font, so the measure errs wide and the text small, never off its box.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from enum import Enum
from functools import cache
from pathlib import Path

# fontTools comes with WeasyPrint, which subsets the fonts it embeds with it.
from fontTools.ttLib import TTFont
from PIL import ImageFont

from pki.text import first_grapheme, is_combining

DEJAVU_DIRECTORY = Path("/usr/share/fonts/truetype/dejavu")
# Pillow measures at this size in pixels, so an advance in pixels is a thousandth of an em.
_MEASURE_SIZE = 1000
# Pango and Pillow (libraqm) shape with the same HarfBuzz, but round differently: a line is
# measured against a box a little narrower than the one it is printed in.
_WIDTH_SLACK = 0.97
# A line may end after a space, a hyphen or a slash (UAX #14 BA and SY classes).
_BREAK_AFTER = frozenset(" -/\u2010\u2013\u2014")
ELLIPSIS = "\u2026"


class Font(Enum):
    """The faces the card documents use; the template names the same family and weight."""

    SANS = "DejaVuSans.ttf"
    SANS_BOLD = "DejaVuSans-Bold.ttf"
    MONO = "DejaVuSansMono.ttf"


@dataclass(frozen=True)
class Box:
    """A fixed area for text, in millimetres, and the font sizes (largest first) it may take."""

    left_mm: float
    top_mm: float
    width_mm: float
    height_mm: float
    sizes_mm: tuple[float, ...]
    font: Font = Font.SANS
    line_height: float = 1.2  # as a multiple of the font size, as CSS `line-height` takes it

    def __post_init__(self) -> None:
        if not self.sizes_mm or list(self.sizes_mm) != sorted(self.sizes_mm, reverse=True):
            msg = f"a box needs its font sizes largest first, not {self.sizes_mm}"
            raise ValueError(msg)
        if self.lines_at(self.sizes_mm[-1]) < 1:
            msg = f"a box {self.height_mm} mm high holds no line at {self.sizes_mm[-1]} mm"
            raise ValueError(msg)

    def lines_at(self, size_mm: float) -> int:
        # A hair of tolerance: 2 lines of 2.5 mm at 1.2 fill a 6.0 mm box exactly.
        return math.floor(self.height_mm / (size_mm * self.line_height) + 1e-6)


@dataclass(frozen=True)
class FittedText:
    """The lines to print in `box`, at `size_mm`; `cut` if text was left out to fit."""

    box: Box
    size_mm: float
    lines: tuple[str, ...]
    cut: bool = False

    @property
    def top(self) -> str:
        """Where the box starts down the page, for what is printed beside it (a label)."""
        return f"{self.box.top_mm:.2f}mm"

    @property
    def style(self) -> str:
        """The box's position, size and type as a CSS declaration (mm, "." as decimal point
        whatever the locale, which a template's number formatting would not promise)."""
        box = self.box
        return (
            f"left: {box.left_mm:.2f}mm; top: {box.top_mm:.2f}mm; "
            f"width: {box.width_mm:.2f}mm; height: {box.height_mm:.2f}mm; "
            f"font-size: {self.size_mm:.2f}mm; line-height: {box.line_height}"
        )


@cache
def _font(font: Font) -> tuple[ImageFont.FreeTypeFont, frozenset[int]]:
    path = DEJAVU_DIRECTORY / font.value
    if not path.is_file():
        msg = f"{path} is missing: the card face is laid out in DejaVu (install fonts-dejavu-core)"
        raise FileNotFoundError(msg)
    with TTFont(path, lazy=True) as ttfont:
        covered = frozenset(ttfont.getBestCmap())
    return ImageFont.truetype(str(path), _MEASURE_SIZE), covered


def _graphemes(text: str) -> list[str]:
    graphemes = []
    while text:
        graphemes.append(first_grapheme(text))
        text = text[len(graphemes[-1]) :]
    return graphemes


def text_width_em(text: str, font: Font) -> float:
    """The advance of `text` in ems: runs the font covers as Pillow shapes them, anything else
    a full em per character (marks included: without their font they are drawn as boxes)."""
    measure, covered = _font(font)
    width = 0.0
    run = ""
    for char in text:
        if ord(char) in covered:
            run += char
            continue
        if run:
            width += measure.getlength(run)
            run = ""
        width += _MEASURE_SIZE
    if run:
        width += measure.getlength(run)
    return width / _MEASURE_SIZE


def text_width_mm(text: str, font: Font, size_mm: float) -> float:
    return text_width_em(text, font) * size_mm


def _pieces(paragraph: str) -> list[str]:
    """`paragraph` cut after each place a line may end, spaces kept with the piece before."""
    pieces = [""]
    for char in paragraph:
        if pieces[-1] and pieces[-1][-1] in _BREAK_AFTER and char != " " and not is_combining(char):
            pieces.append("")
        pieces[-1] += char
    return [piece for piece in pieces if piece]


def wrap(paragraph: str, *, font: Font, size_mm: float, width_mm: float) -> list[str]:
    """`paragraph` in lines no wider than `width_mm`: broken where a line may end, and inside a
    word (between two graphemes) only when the word alone is wider than the line."""

    def fits(line: str) -> bool:
        return text_width_mm(line.rstrip(), font, size_mm) <= width_mm * _WIDTH_SLACK

    lines: list[str] = []
    line = ""
    for piece in _pieces(unicodedata.normalize("NFC", paragraph).strip()):
        if fits(line + piece):
            line += piece
            continue
        if line:
            lines.append(line.rstrip())
            line = ""
        if fits(piece):
            line = piece
            continue
        for grapheme in _graphemes(piece):
            if line and not fits(line + grapheme):
                lines.append(line.rstrip())
                line = ""
            line += grapheme
    if line.strip():
        lines.append(line.rstrip())
    return lines


def _cut(line: str, *, font: Font, size_mm: float, width_mm: float) -> str:
    """The last line that still shows, ended by an ellipsis that says more was left out."""
    while line and text_width_mm(line.rstrip() + ELLIPSIS, font, size_mm) > width_mm * _WIDTH_SLACK:
        line = line[: -len(_graphemes(line)[-1])]
    return line.rstrip() + ELLIPSIS


def fit_text(paragraphs: list[str] | tuple[str, ...], box: Box) -> FittedText:
    """`paragraphs` (each starts a line) in `box` at the largest size they fit; at the smallest,
    cut to the lines the box holds, the last ending with an ellipsis."""
    paragraphs = [paragraph for paragraph in paragraphs if paragraph.strip()]
    for size in box.sizes_mm:
        lines = [
            line
            for paragraph in paragraphs
            for line in wrap(paragraph, font=box.font, size_mm=size, width_mm=box.width_mm)
        ]
        if len(lines) <= box.lines_at(size):
            return FittedText(box=box, size_mm=size, lines=tuple(lines))
    budget = box.lines_at(size)
    kept = lines[: budget - 1]
    last = _cut(lines[budget - 1], font=box.font, size_mm=size, width_mm=box.width_mm)
    return FittedText(box=box, size_mm=size, lines=(*kept, last), cut=True)
