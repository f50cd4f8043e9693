"""Cleaning a professional's fields from text, shared by the form, the API and the CSV import.

One function decides what a valid professional is, so the three interfaces cannot drift apart.
It is plain Python over strings (no queries) so a 100,000-row import stays fast.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from iso3166 import countries_by_alpha2

from issuance.names import invisible_character_problem, person_name_clean
from issuance.professions import parse_profession
from issuance.validators import finess_problem, rpps_problem

REQUIRED = ("rpps", "last_name", "first_name", "profession", "email")
OPTIONAL = (
    "specialty",
    "phone",
    "address_line1",
    "address_line2",
    "postal_code",
    "city",
    "country",
    "organisation_finess",
)
COLUMNS = REQUIRED + OPTIONAL

NAMES = ("last_name", "first_name")  # issuance/names.py says what a name may hold
_MAX_LENGTH = {
    "email": 254,
    "specialty": 200,
    "phone": 32,
    "address_line1": 200,
    "address_line2": 200,
    "postal_code": 16,
    "city": 100,
}
_PHONE = re.compile(r"\+?[0-9 ().-]{4,30}")
_email = EmailValidator()


@dataclass(frozen=True)
class Problem:
    field: str
    message: str


def _text(field: str, value: str, problems: list[Problem]) -> str:
    value = unicodedata.normalize("NFC", value.strip())
    problem = invisible_character_problem(value)
    if problem:
        problems.append(Problem(field, problem))
    limit = _MAX_LENGTH.get(field)
    if limit and len(value) > limit:
        problems.append(Problem(field, f"is {len(value)} characters long; at most {limit}"))
    return value


def clean_professional(
    raw: Mapping[str, str | None], *, partial: bool = False
) -> tuple[dict, list[Problem]]:
    """Clean the fields present in `raw` (all of REQUIRED unless `partial`).

    Returns model-ready values — `profession` as its code, `organisation_finess` still as text
    (the caller resolves it) — and the problems found, one per field at most.
    """
    problems: list[Problem] = []
    cleaned: dict = {}
    for field in REQUIRED:
        if field not in raw and partial:
            continue
        if not (raw.get(field) or "").strip():
            problems.append(Problem(field, "is required"))
    missing = {problem.field for problem in problems}

    for field, given in raw.items():
        if field not in COLUMNS or field in missing or given is None:
            continue
        if field in NAMES:
            cleaned[field], problem = person_name_clean(given)
            if problem:
                problems.append(Problem(field, problem))
            continue
        value = _text(field, given, problems)
        if field == "rpps":
            problem = rpps_problem(value)
            if problem:
                problems.append(Problem(field, problem))
        elif field == "profession":
            try:
                value = int(parse_profession(value))
            except ValueError as exc:
                problems.append(Problem(field, str(exc)))
        elif field == "email":
            try:
                _email(value)
            except ValidationError:
                problems.append(Problem(field, f"{value!r} is not a valid email address"))
        elif field == "phone" and value and not _PHONE.fullmatch(value):
            problems.append(Problem(field, "use digits, spaces and + ( ) . - only"))
        elif field == "country":
            value = value.upper() or "FR"
            if value not in countries_by_alpha2:
                problems.append(Problem(field, f"{value!r} is not an ISO 3166 country code"))
        elif field == "organisation_finess" and value:
            problem = finess_problem(value)
            if problem:
                problems.append(Problem(field, problem))
        cleaned[field] = value
    return cleaned, problems
