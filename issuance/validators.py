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


def finess_problem(value: str) -> str | None:
    if len(value) != 9 or not _DIGITS.fullmatch(value):
        return "FINESS number must be exactly 9 digits"
    return None


def validate_rpps(value: str) -> None:
    problem = rpps_problem(value)
    if problem:
        raise ValidationError(problem, code="invalid_rpps")


def validate_finess(value: str) -> None:
    problem = finess_problem(value)
    if problem:
        raise ValidationError(problem, code="invalid_finess")
