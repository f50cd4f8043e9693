"""Fitting text by its UTF-8 length (pki/text.py): never more bytes than allowed, never half a
character, never a letter without its combining marks."""

from __future__ import annotations

import unicodedata

import pytest

from pki.text import first_grapheme, fit_utf8


@pytest.mark.parametrize(
    ("text", "limit", "fitted"),
    [
        ("Dupont", 64, "Dupont"),
        ("É" * 64, 64, "É" * 32),  # 2 bytes each
        ("É" * 64, 63, "É" * 31),  # never half of one
        ("山田太郎" * 10, 64, "山田太郎" * 5 + "山"),  # 3 bytes each: 63
        ("Ọ̀" * 20, 64, "Ọ̀" * 12),  # O with dot below (3 bytes) + grave (2): cut between the two
        ("Jean Pierre", 5, "Jean"),  # no trailing space
        ("Ne\u0301e", 3, "Né"),  # NFC first: é is one character of 2 bytes
    ],
)
def test_fit_utf8(text, limit, fitted):
    result = fit_utf8(text, limit)
    assert result == fitted
    assert len(result.encode()) <= limit
    assert unicodedata.normalize("NFC", text).startswith(result)


def test_a_cut_never_separates_a_letter_from_its_marks():
    name = "श्रीनिवास"  # Devanagari: virama and vowel signs are marks
    for limit in range(len(name.encode()) + 1):
        fitted = fit_utf8(name, limit)
        rest = name[len(fitted) :]
        assert not rest or unicodedata.category(rest[0])[0] != "M", limit


def test_first_grapheme():
    assert first_grapheme("Ọ̀ṣọ́") == "Ọ̀"
    assert first_grapheme("Jean") == "J"
    assert first_grapheme("") == ""
