"""Card profile versions: every change to a definition makes a new, immutable version."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from audit.events import EventType
from audit.services import audit_record
from cardprofiles.models import CardProfile, CardProfileVersion
from cardprofiles.schema import definition_digest, parse_yaml, validate_definition
from config.errors import FieldError, ValidationFailed

BUILTIN_DIR = Path(__file__).resolve().parent.parent / "builtin"


@dataclass(frozen=True)
class VersionResult:
    version: CardProfileVersion
    created: bool


@transaction.atomic
def card_profile_save_definition(*, definition: dict, by=None, source: str = "") -> VersionResult:
    """Store `definition` as the newest version of its profile, unless it is already the newest.

    Creates the profile on first use. An unchanged definition changes nothing (idempotent).
    """
    definition = validate_definition(definition)
    digest = definition_digest(definition)
    profile = (
        CardProfile.objects.select_for_update(no_key=True).filter(name=definition["name"]).first()
    )
    if profile is None:
        profile = CardProfile.objects.create(
            name=definition["name"], display_name=definition["display_name"]
        )
        audit_record(
            event=EventType.CARD_PROFILE_CREATED,
            actor=by,
            obj=profile,
            payload={"name": profile.name},
        )
    current = profile.current_version
    if current is not None and current.digest == digest:
        return VersionResult(current, created=False)
    version = CardProfileVersion.objects.create(
        profile=profile,
        number=(current.number + 1) if current else 1,
        definition=definition,
        digest=digest,
        source=source[:200],
        created_by=by if getattr(by, "is_authenticated", False) else None,
    )
    if profile.display_name != definition["display_name"]:
        profile.display_name = definition["display_name"]
        profile.save(update_fields=["display_name"])
    audit_record(
        event=EventType.CARD_PROFILE_VERSION_CREATED,
        actor=by,
        obj=version,
        payload={
            "profile": profile.name,
            "version": version.number,
            "digest": digest,
            "source": version.source,
        },
    )
    return VersionResult(version, created=True)


def card_profile_edit(*, profile: CardProfile, definition: dict, by) -> VersionResult:
    """An administrator's edit: a new version of `profile` (its name cannot change)."""
    if isinstance(definition, dict) and definition.get("name") != profile.name:
        raise ValidationFailed([FieldError("name", f"the profile name must stay {profile.name!r}")])
    return card_profile_save_definition(definition=definition, by=by, source="edited")


def card_profile_load_yaml(*, text: str, by=None, source: str) -> VersionResult:
    return card_profile_save_definition(
        definition=parse_yaml(text, source=source), by=by, source=source
    )


def card_profile_sync_builtin(*, by=None) -> list[VersionResult]:
    """Load the profiles shipped in cardprofiles/builtin/*.yaml (idempotent)."""
    return [
        card_profile_load_yaml(
            text=path.read_text(encoding="utf-8"), by=by, source=f"builtin/{path.name}"
        )
        for path in sorted(BUILTIN_DIR.glob("*.yaml"))
    ]


@transaction.atomic
def card_profile_set_active(*, profile: CardProfile, active: bool, by) -> CardProfile:
    """An inactive profile keeps its versions and requests but takes no new request."""
    profile = CardProfile.objects.select_for_update(no_key=True).get(pk=profile.pk)
    if profile.is_active == active:
        return profile
    profile.is_active = active
    profile.save(update_fields=["is_active"])
    audit_record(
        event=EventType.CARD_PROFILE_STATUS_CHANGED,
        actor=by,
        obj=profile,
        payload={"name": profile.name, "active": active},
    )
    return profile
