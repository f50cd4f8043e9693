"""Health professions, coded as in the French RPPS register (ANS nomenclature G15)."""

from __future__ import annotations

import unicodedata

from django.db import models


class Profession(models.IntegerChoices):
    PHYSICIAN = 10, "Physician"
    PHARMACIST = 21, "Pharmacist"
    DENTIST = 40, "Dentist"
    MIDWIFE = 50, "Midwife"
    NURSE = 60, "Nurse"
    PHYSIOTHERAPIST = 70, "Physiotherapist"


# Names a registry export may carry besides the code and the English label.
_ALIASES = {
    "medecin": Profession.PHYSICIAN,
    "doctor": Profession.PHYSICIAN,
    "pharmacien": Profession.PHARMACIST,
    "chirurgien-dentiste": Profession.DENTIST,
    "chirurgien dentiste": Profession.DENTIST,
    "sage-femme": Profession.MIDWIFE,
    "sage femme": Profession.MIDWIFE,
    "infirmier": Profession.NURSE,
    "infirmiere": Profession.NURSE,
    "masseur-kinesitherapeute": Profession.PHYSIOTHERAPIST,
    "masseur kinesitherapeute": Profession.PHYSIOTHERAPIST,
    "kinesitherapeute": Profession.PHYSIOTHERAPIST,
}


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.strip().casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


_BY_NAME: dict[str, Profession] = {
    **{_fold(member.label): member for member in Profession},
    **{_fold(member.name): member for member in Profession},
    **_ALIASES,
}
_BY_CODE: dict[str, Profession] = {str(member.value): member for member in Profession}


def parse_profession(value: str | int) -> Profession:
    """A profession from its code ("10") or name ("physician", "Médecin"), in any case."""
    text = str(value).strip()
    found = _BY_CODE.get(text.lstrip("0") if text.isdigit() else text) or _BY_NAME.get(_fold(text))
    if found is None:
        known = ", ".join(f"{member.value} {member.label.lower()}" for member in Profession)
        msg = f"unknown profession {text!r} (use a code or a name: {known})"
        raise ValueError(msg)
    return found
