"""The card profile schema and its validation, with errors that name the offending path."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import yaml
from jsonschema import Draft202012Validator

from config.errors import FieldError, ValidationFailed

SLOTS = ("9A", "9C", "9D", "9E")
ALGORITHMS = ("rsa2048", "eccp256", "eccp384")
CERTIFICATE_PROFILES = (
    "hp-authentication",
    "hp-qualified-signature",
    "hp-encryption",
    "hp-card-authentication",
)
# SP 800-73-4 §3.1: PIN is used once per session, before every use ("always"), or not at all.
PIN_POLICIES = ("once", "always", "never")
QUALIFIED_SIGNATURE = "hp-qualified-signature"
# Key attestation (docs/signer.md): `required`, the card must prove the slot's key was generated
# on it, or the slot gets no certificate; `optional`, a card that cannot attest is accepted, but
# an attestation it gives must verify.
ATTESTATION = ("required", "optional")

_slot_schema = {
    "type": "object",
    "additionalProperties": False,
    "required": ["algorithm", "key_generation", "certificate_profile", "pin_policy"],
    "properties": {
        "algorithm": {"enum": list(ALGORITHMS)},
        "key_generation": {"enum": ["card", "central"]},
        "certificate_profile": {"enum": list(CERTIFICATE_PROFILES)},
        "pin_policy": {"enum": list(PIN_POLICIES)},
        "attestation": {"enum": list(ATTESTATION)},
    },
}

_secret_policy = {
    "type": "object",
    "additionalProperties": False,
    "required": ["length", "retries"],
    "properties": {
        "length": {"type": "integer"},
        "retries": {"type": "integer", "minimum": 1, "maximum": 15},
    },
}

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "display_name", "card_type", "validity_days", "pin", "puk", "slots"],
    "properties": {
        "name": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$"},
        "display_name": {"type": "string", "minLength": 1, "maxLength": 200},
        "description": {"type": "string"},
        "card_type": {"enum": ["piv"]},
        "validity_days": {"type": "integer", "minimum": 1, "maximum": 3650},
        # How long before a card expires its renewal is due (docs/card-lifecycle.md).
        "renewal_window_days": {"type": "integer", "minimum": 0, "maximum": 365},
        # "one" (default): a new card is refused to a holder who has a live one of the profile
        # (a renewal or a replacement is asked instead); "several": allowed.
        "cards_per_holder": {"enum": ["one", "several"]},
        "pin": {
            **_secret_policy,
            "properties": {
                **_secret_policy["properties"],
                "length": {"type": "integer", "minimum": 6, "maximum": 8},
            },
        },
        "puk": {
            **_secret_policy,
            "properties": {
                **_secret_policy["properties"],
                # SP 800-73-4 §2.4.3: the PUK is 8 bytes; digits keep it typeable from a mailer.
                "length": {"type": "integer", "minimum": 6, "maximum": 8},
                # true: the PUK is never printed; the signer keeps it sealed, for an unblock
                # approved under four eyes (docs/card-lifecycle.md, "PIN unblock").
                "managed": {"type": "boolean"},
            },
        },
        "slots": {
            "type": "object",
            "additionalProperties": False,
            "minProperties": 1,
            "propertyNames": {"enum": list(SLOTS)},
            "patternProperties": {"^9[ACDE]$": _slot_schema},
        },
        "documents": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "card_face": {"type": "string", "pattern": r"^documents/[a-z0-9_/-]+\.html$"},
                "carrier": {"type": "string", "pattern": r"^documents/[a-z0-9_/-]+\.html$"},
                "pin_mailer": {"type": "string", "pattern": r"^documents/[a-z0-9_/-]+\.html$"},
            },
        },
        "visual": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "accent_color": {"type": "string", "pattern": "^#[0-9a-fA-F]{6}$"},
                "title": {"type": "string", "maxLength": 60},
            },
        },
    },
}


def puk_managed(definition: dict) -> bool:
    """The profile keeps its cards' PUKs (sealed, for the signer) instead of giving them to the
    holders on the PIN mailer."""
    return bool(definition["puk"].get("managed", False))


DEFAULT_RENEWAL_WINDOW_DAYS = 90


def renewal_window_days(definition: dict) -> int:
    """Days before expiry a card of this profile version is due for renewal (90 when the
    version does not say)."""
    return int(definition.get("renewal_window_days", DEFAULT_RENEWAL_WINDOW_DAYS))


DEFAULT_DOCUMENTS = {
    "card_face": "documents/card_face.html",
    "carrier": "documents/carrier.html",
    "pin_mailer": "documents/pin_mailer.html",
}

_validator = Draft202012Validator(SCHEMA)


def _path(parts) -> str:
    return ".".join(str(part) for part in parts) or "(profile)"


def slot_attestation(spec: dict) -> str:
    """The slot's attestation policy. Versions stored before it was a field have none: the
    qualified signature slot then requires it (QCP-n-qscd: the key must be in the card), the
    others take it as optional."""
    default = "required" if spec.get("certificate_profile") == QUALIFIED_SIGNATURE else "optional"
    return spec.get("attestation", default)


def _rule_errors(definition: dict) -> list[FieldError]:
    """Rules a schema cannot say plainly."""
    errors = []
    for slot, spec in definition.get("slots", {}).items():
        if spec.get("key_generation") == "central" and slot != "9D":
            errors.append(
                FieldError(
                    f"slots.{slot}.key_generation",
                    "only the key management slot 9D may have its key generated centrally",
                )
            )
        if spec.get("key_generation") == "central" and spec.get("attestation") == "required":
            errors.append(
                FieldError(
                    f"slots.{slot}.attestation",
                    "a key generated centrally and imported cannot be attested by the card "
                    "(attestation: optional)",
                )
            )
        if spec.get("certificate_profile") == QUALIFIED_SIGNATURE:
            if slot_attestation(spec) != "required":
                errors.append(
                    FieldError(
                        f"slots.{slot}.attestation",
                        "a qualified signature key must be proven generated on the card "
                        "(attestation: required)",
                    )
                )
            if spec.get("pin_policy") != "always":
                errors.append(
                    FieldError(
                        f"slots.{slot}.pin_policy",
                        "a qualified signature key must require the PIN for every signature "
                        "(pin_policy: always)",
                    )
                )
            if spec.get("key_generation") != "card":
                errors.append(
                    FieldError(
                        f"slots.{slot}.key_generation",
                        "a qualified signature key must be generated on the card",
                    )
                )
    return errors


def validate_definition(definition: Any) -> dict:
    """Return the definition with defaults filled in, or raise ValidationFailed naming each path."""
    if not isinstance(definition, dict):
        raise ValidationFailed([FieldError(None, "a card profile must be a mapping of fields")])
    errors = [
        FieldError(_path(error.absolute_path), error.message)
        for error in sorted(_validator.iter_errors(definition), key=lambda e: list(e.path))
    ]
    if not errors:
        errors = _rule_errors(definition)
    if errors:
        raise ValidationFailed(errors)
    cleaned = {**definition, "documents": {**DEFAULT_DOCUMENTS, **definition.get("documents", {})}}
    cleaned["slots"] = {
        slot: {**spec, "attestation": slot_attestation(spec)}
        for slot, spec in definition["slots"].items()
    }
    if "description" in cleaned:
        cleaned["description"] = cleaned["description"].strip()
    return cleaned


def parse_yaml(text: str, *, source: str = "profile") -> dict:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ValidationFailed([FieldError(None, f"{source}: not valid YAML{where}")]) from None
    return validate_definition(data)


def definition_digest(definition: dict) -> str:
    canonical = json.dumps(definition, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
