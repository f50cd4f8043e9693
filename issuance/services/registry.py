"""Organisations and professionals: creating and editing registry entries."""

from __future__ import annotations

from collections.abc import Mapping

from django.db import IntegrityError, transaction

from audit.events import EventType
from audit.services import audit_record
from config.errors import Conflict, FieldError, ValidationFailed
from issuance.identity_locks import identity_edit_refusal
from issuance.models import Organisation, Professional
from issuance.names import invisible_character_problem
from issuance.professional_fields import clean_professional
from issuance.validators import finess_problem


def _organisation_by_finess(finess: str) -> Organisation | None:
    if not finess:
        return None
    organisation = Organisation.objects.filter(finess=finess).first()
    if organisation is None:
        raise ValidationFailed(
            [FieldError("organisation_finess", f"no organisation has FINESS number {finess}")]
        )
    return organisation


def _validated(raw: Mapping[str, str | None], *, partial: bool) -> dict:
    cleaned, problems = clean_professional(raw, partial=partial)
    if problems:
        raise ValidationFailed([FieldError(p.field, p.message) for p in problems])
    if "organisation_finess" in cleaned:
        cleaned["organisation"] = _organisation_by_finess(cleaned.pop("organisation_finess"))
    return cleaned


def _rpps_taken(rpps: str) -> ValidationFailed:
    return ValidationFailed([FieldError("rpps", f"a professional with RPPS {rpps} already exists")])


def _save(professional: Professional, *, photo=None) -> None:
    if photo is not None:
        professional.photo = photo
    try:
        with transaction.atomic():
            professional.save()
    except IntegrityError:
        raise _rpps_taken(professional.rpps) from None


@transaction.atomic
def professional_create(*, data: Mapping[str, str | None], by, photo=None) -> Professional:
    """Register a professional. `data` holds text fields as in the CSV columns."""
    cleaned = _validated(data, partial=False)
    if Professional.objects.filter(rpps=cleaned["rpps"]).exists():
        raise _rpps_taken(cleaned["rpps"])
    professional = Professional(**cleaned)
    _save(professional, photo=photo)
    audit_record(
        event=EventType.PROFESSIONAL_CREATED,
        actor=by,
        obj=professional,
        payload={"rpps": professional.rpps, "profession": professional.profession},
    )
    return professional


@transaction.atomic
def professional_update(
    *, professional: Professional, data: Mapping[str, str | None], by, photo=None
) -> Professional:
    """Change the fields present in `data`; records which fields changed (not their values).
    Fields an open card request's identity snapshot holds are refused while it is open."""
    cleaned = _validated(data, partial=True)
    # Locked, so a request submitted meanwhile takes its snapshot before or after this edit.
    professional = Professional.objects.select_for_update(no_key=True).get(pk=professional.pk)
    changed = [field for field, value in cleaned.items() if getattr(professional, field) != value]
    if photo is not None:
        changed.append("photo")
    if refusal := identity_edit_refusal(professional.pk, changed):
        raise Conflict(refusal, code="open_request_exists")
    if "rpps" in changed and (
        Professional.objects.filter(rpps=cleaned["rpps"]).exclude(pk=professional.pk).exists()
    ):
        raise _rpps_taken(cleaned["rpps"])
    if not changed:
        return professional
    for field in changed:
        if field != "photo":
            setattr(professional, field, cleaned[field])
    _save(professional, photo=photo)
    audit_record(
        event=EventType.PROFESSIONAL_UPDATED,
        actor=by,
        obj=professional,
        payload={"rpps": professional.rpps, "changed": sorted(changed)},
    )
    return professional


def _clean_organisation(name: str, finess: str) -> tuple[str, str]:
    name, finess = (name or "").strip(), (finess or "").strip()
    errors = []
    if not name:
        errors.append(FieldError("name", "is required"))
    elif len(name) > 200:
        errors.append(FieldError("name", "is longer than 200 characters"))
    elif problem := invisible_character_problem(name):
        errors.append(FieldError("name", problem))
    problem = finess_problem(finess)
    if problem:
        errors.append(FieldError("finess", problem))
    if errors:
        raise ValidationFailed(errors)
    return name, finess


@transaction.atomic
def organisation_create(*, name: str, finess: str, by) -> Organisation:
    name, finess = _clean_organisation(name, finess)
    if Organisation.objects.filter(finess=finess).exists():
        raise ValidationFailed(
            [FieldError("finess", f"an organisation with FINESS {finess} already exists")]
        )
    organisation = Organisation.objects.create(name=name, finess=finess)
    audit_record(
        event=EventType.ORGANISATION_CREATED,
        actor=by,
        obj=organisation,
        payload={"finess": finess, "name": name},
    )
    return organisation


@transaction.atomic
def organisation_update(*, organisation: Organisation, name: str, by) -> Organisation:
    name, _ = _clean_organisation(name, organisation.finess)
    if name == organisation.name:
        return organisation
    organisation.name = name
    organisation.save(update_fields=["name", "updated_at"])
    audit_record(
        event=EventType.ORGANISATION_UPDATED,
        actor=by,
        obj=organisation,
        payload={"finess": organisation.finess, "name": name},
    )
    return organisation
