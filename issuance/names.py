"""The rule for a person's first and last name, in one place: the form, the API and the CSV import
apply it through `clean_professional`.

A name goes into four certificates, the card's printed information and three PDFs, so it holds
only what reads the same everywhere:

- NFC-normalised; runs of spaces (any Unicode space separator) collapse to one, none at the ends;
- letters of any script, combining marks (at most MAX_MARKS on a letter), spaces, hyphen (-),
  apostrophes (' and U+2019) and period (.); at least one letter;
- so no control or format character (bidi overrides and isolates, zero-width characters, soft
  hyphen, BOM), no line separator, no private-use or unassigned code point, no digit, no markup;
- at most NAME_MAX_BYTES bytes once encoded in UTF-8.

NAME_MAX_BYTES is what the card and the certificates hold without cutting: the printed
information's name (SP 800-73-4 Part 1 Table 13) is 125 bytes for "first last", so 62 bytes each;
and "first last", "F. last" or else "last" then fits the certificate's commonName (64 bytes, the
bound `cryptography` checks; pki/profiles.py). surname and givenName carry the names whole.
"""

from __future__ import annotations

import unicodedata

NAME_MAX_BYTES = 62
MAX_MARKS = 4  # Vietnamese or Thai need two or three on a letter; "Zalgo" text needs many
_PUNCTUATION = frozenset("-'.\u2019")
_ALLOWED_HINT = "letters, combining marks, spaces, hyphens (-), apostrophes (' \u2019) and periods"
# What the form, the API schema and the import page tell whoever types a name.
NAME_RULE = (
    f"Letters of any script, combining marks, spaces, hyphens (-), apostrophes (' \u2019) and "
    f"periods; at most {NAME_MAX_BYTES} bytes in UTF-8 (e.g. {NAME_MAX_BYTES} plain letters, "
    f"{NAME_MAX_BYTES // 2} accented ones, {NAME_MAX_BYTES // 3} Chinese characters)."
)


def _describe(char: str) -> str:
    code = f"U+{ord(char):04X}"
    name = unicodedata.name(char, "")
    if unicodedata.category(char)[0] in "LNPS" and not char.isspace():
        return f"{char!r} ({code} {name})"
    return f"{code} {name}".rstrip()


# Cc control, Cf format (bidi controls, zero-width characters, soft hyphen, BOM), Zl/Zp line and
# paragraph separators, Co private use, Cs surrogates, Cn unassigned.
_INVISIBLE_CATEGORIES = frozenset(("Cc", "Cf", "Zl", "Zp", "Co", "Cs", "Cn"))


def invisible_character_problem(text: str) -> str | None:
    """Why `text` (any free text: an organisation, an address) is refused, if it holds a control
    or invisible formatting character that would make it read differently from what it is."""
    if text.isprintable():  # no C* nor Z* but the space: the common case, at C speed
        return None
    for char in text:
        if unicodedata.category(char) in _INVISIBLE_CATEGORIES:
            return f"must not contain {_describe(char)} (a control or invisible character)"
    return None


def _collapse_spaces(text: str) -> str:
    """Runs of space separators (Zs: space, no-break space, thin space...) become one space; tabs
    and line breaks are controls, refused rather than silently joined."""
    spaced = "".join(" " if unicodedata.category(char) == "Zs" else char for char in text)
    return " ".join(word for word in spaced.split(" ") if word)


def person_name_clean(value: str) -> tuple[str, str | None]:
    """(the name normalised, None) or (the name normalised, why it is refused)."""
    name = _collapse_spaces(unicodedata.normalize("NFC", value))
    marks, letters = 0, 0
    for index, char in enumerate(name):
        category = unicodedata.category(char)
        if category[0] == "L":
            marks, letters = 0, letters + 1
            continue
        if category[0] == "M":
            marks += 1
            if index == 0 or name[index - 1] == " " or name[index - 1] in _PUNCTUATION:
                return name, f"has a combining mark ({_describe(char)}) that follows no letter"
            if marks > MAX_MARKS:
                return name, f"has more than {MAX_MARKS} combining marks on one letter"
            continue
        marks = 0
        if char != " " and char not in _PUNCTUATION:
            return name, f"must not contain {_describe(char)}; a name has {_ALLOWED_HINT}"
    if not letters:
        return name, "must contain a letter"
    size = len(name.encode("utf-8"))
    if size > NAME_MAX_BYTES:
        return name, (
            f"is too long: at most {NAME_MAX_BYTES} bytes once encoded in UTF-8 "
            f"(this name is {size})"
        )
    return name, None
