"""Identifiers of the French health registry, checked without Django so importers stay fast."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

_DIGITS = re.compile(r"[0-9]+")


def luhn_is_valid(digits: str) -> bool:
    """Luhn mod 10 over all digits, the last being the check digit (ISO/IEC 7812-1 Annex B)."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def luhn_check_digit(payload: str) -> str:
    """The digit that, appended to `payload`, makes it Luhn-valid."""
    for candidate in "0123456789":
        if luhn_is_valid(payload + candidate):
            return candidate
    raise AssertionError  # pragma: no cover - one of ten digits always fits


def rpps_problem(value: str) -> str | None:
    """Why `value` is not an RPPS number (11 digits, Luhn over all 11), or None if it is one."""
    if len(value) != 11 or not _DIGITS.fullmatch(value):
        return "RPPS number must be exactly 11 digits"
    if not luhn_is_valid(value):
        return "RPPS number check digit is wrong (Luhn mod 10 over all 11 digits)"
    return None


# FINESS (Fichier national des établissements sanitaires et sociaux): a department code, 6
# digits and a check digit. Departments 01-19 and 21-95, Corsica's 2A and 2B (20 was split in
# 1976, before FINESS), 97 and 98 overseas (971 Guadeloupe ... 976 Mayotte, 98x collectivities).
_FINESS = re.compile(r"(0[1-9]|1[0-9]|2[1-9AB]|[3-8][0-9]|9[0-5]|9[78])[0-9]{7}")
# The key is a Luhn over the 9 characters with Corsica's letters as digits: 2A -> 21, 2B -> 22
# (checked against the published numbers of Corsican hospitals, tests/issuance).
_CORSICA = str.maketrans({"A": "1", "B": "2"})


def finess_check_digit(payload: str) -> str:
    """The check digit completing the 8 first characters of a FINESS number."""
    return luhn_check_digit(payload.translate(_CORSICA))


def finess_problem(value: str) -> str | None:
    """Why `value` is not a FINESS number, or None if it is one."""
    if len(value) != 9 or not re.fullmatch(r"[0-9]{9}|2[AB][0-9]{7}", value):
        return "FINESS number must be exactly 9 digits, or 2A/2B then 7 digits in Corsica"
    if not _FINESS.fullmatch(value):
        return (
            f"FINESS number starts with {value[:2]!r}, which is not a department code "
            "(01-19, 21-95, 2A, 2B, 97, 98)"
        )
    if not luhn_is_valid(value.translate(_CORSICA)):
        return "FINESS number check digit is wrong (Luhn over all 9, with 2A/2B as 21/22)"
    return None


def validate_rpps(value: str) -> None:
    problem = rpps_problem(value)
    if problem:
        raise ValidationError(problem, code="invalid_rpps")


def validate_finess(value: str) -> None:
    problem = finess_problem(value)
    if problem:
        raise ValidationError(problem, code="invalid_finess")
