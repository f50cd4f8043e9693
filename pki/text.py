"""Fitting text into fields whose bound is counted in bytes of UTF-8 (plain Python, no Django).

`cryptography` refuses a commonName over 64 bytes (it counts the encoded value, where X.520
counts characters), and the PIV printed information has byte limits (SP 800-73-4 Part 1 Table
13). Text is cut at a character boundary, and never between a letter and its combining marks,
so what is left is a prefix of the name as a reader sees it.
"""

from __future__ import annotations

import unicodedata


def is_combining(char: str) -> bool:
    """A mark (Unicode category M*) belongs to the character before it."""
    return unicodedata.category(char).startswith("M")


def utf8_length(text: str) -> int:
    return len(text.encode("utf-8"))


def first_grapheme(text: str) -> str:
    """The first character of `text` with the combining marks that follow it ("" if empty)."""
    end = 1
    while end < len(text) and is_combining(text[end]):
        end += 1
    return text[:end]


def fit_utf8(text: str, max_bytes: int) -> str:
    """`text` in NFC, cut to at most `max_bytes` bytes of UTF-8 at a grapheme boundary, without
    trailing whitespace. Text that already fits comes back whole (normalised)."""
    text = unicodedata.normalize("NFC", text)
    if utf8_length(text) <= max_bytes:
        return text
    used = 0
    end = 0  # the text before `end` fits, and ends where a grapheme ends
    for index, char in enumerate(text):
        used += utf8_length(char)
        if used > max_bytes:
            break
        following = text[index + 1 : index + 2]
        if not following or not is_combining(following):
            end = index + 1
    return text[:end].rstrip()
