"""The longest first and last names enrolment accepts (issuance/names.py), in several scripts,
for tests that put them on a card, into certificates and into documents."""

from __future__ import annotations

import itertools
import unicodedata

from issuance.names import NAME_MAX_BYTES
from pki.text import first_grapheme


def longest(*words: str) -> str:
    """The words repeated, hyphenated, up to the last grapheme that still fits NAME_MAX_BYTES."""
    name = ""
    for word in itertools.cycle(words):
        for index, char in enumerate(word):
            if unicodedata.category(char)[0] == "M":
                continue  # taken with the letter before it
            grapheme = first_grapheme(word[index:])
            candidate = name + ("-" if name and index == 0 else "") + grapheme
            if len(candidate.encode()) > NAME_MAX_BYTES:
                return name
            name = candidate
    raise AssertionError  # pragma: no cover - cycle never ends


# (first name, last name) by script; Yoruba keeps combining marks after NFC.
LONGEST = {
    "latin": (longest("Éléonore", "Marie"), longest("Lefèvre", "Dûpré", "Ançelot")),
    "latin-wide": ("W" * NAME_MAX_BYTES, "W" * NAME_MAX_BYTES),  # the widest on paper
    "greek": (longest("Παναγιώτης"), longest("Αλεξανδρόπουλος")),
    "cyrillic": (longest("Владимир"), longest("Щербаковский")),
    "arabic": (longest("عبدالرحمن"), longest("الشريف")),
    "cjk": (longest("李小龍"), longest("諸葛亮")),
    "vietnamese": (longest("Nguyễn", "Thị"), longest("Trương", "Phượng")),
    "yoruba": (longest("Ọ̀láolúwa"), longest("Adébáyọ̀")),  # marks left after NFC
    "devanagari": (longest("श्रीनिवास"), longest("कृष्णमूर्ति")),
}
