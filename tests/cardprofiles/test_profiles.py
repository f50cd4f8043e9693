"""Card profiles: shipped YAML validated against the schema; versions frozen once used."""

from __future__ import annotations

import copy

import pytest

from accounts.roles import Role
from audit.events import EventType
from audit.models import AuditEvent
from cardprofiles.models import CardProfileVersion, ProfileVersionLocked
from cardprofiles.schema import parse_yaml, slot_attestation, validate_definition
from cardprofiles.services.versions import (
    BUILTIN_DIR,
    card_profile_edit,
    card_profile_sync_builtin,
)
from cards.services.card_requests import card_request_submit
from config.errors import ValidationFailed

pytestmark = pytest.mark.django_db


def _definition() -> dict:
    return parse_yaml((BUILTIN_DIR / "hpc-physician.yaml").read_text(), source="test")


def test_builtin_profiles_load_and_are_idempotent():
    first = card_profile_sync_builtin()
    assert {result.version.profile.name for result in first} >= {"hpc-physician", "hpc-rsa"}
    assert all(result.created for result in first)
    second = card_profile_sync_builtin()
    assert not any(result.created for result in second)
    assert CardProfileVersion.objects.count() == len(first)


def test_builtin_profiles_use_the_expected_algorithms():
    versions = {r.version.profile.name: r.version for r in card_profile_sync_builtin()}
    assert {spec["algorithm"] for spec in versions["hpc-physician"].slots.values()} == {"eccp256"}
    assert {spec["algorithm"] for spec in versions["hpc-rsa"].slots.values()} == {"rsa2048"}
    assert set(versions["hpc-physician"].slots) == {"9A", "9C", "9D", "9E"}
    assert versions["hpc-physician"].slots["9C"]["pin_policy"] == "always"


def _mutate(path: str, value):
    definition = copy.deepcopy(_definition())
    *parents, leaf = path.split(".")
    node = definition
    for part in parents:
        node = node[part]
    if value is KeyError:
        del node[leaf]
    else:
        node[leaf] = value
    return definition


@pytest.mark.parametrize(
    ("path", "value", "error_path", "fragment"),
    [
        ("slots.9A.algorithm", "rsa1024", "slots.9A.algorithm", "'rsa1024' is not one of"),
        ("pin.length", 4, "pin.length", "less than the minimum of 6"),
        ("pin.length", 9, "pin.length", "greater than the maximum of 8"),
        ("puk.retries", 0, "puk.retries", "less than the minimum"),
        ("card_type", "javacard", "card_type", "'javacard' is not one of ['piv']"),
        ("validity_days", KeyError, "(profile)", "'validity_days' is a required property"),
        (
            "slots.9A.key_generation",
            "central",
            "slots.9A.key_generation",
            "only the key management slot 9D",
        ),
        ("slots.9C.pin_policy", "once", "slots.9C.pin_policy", "PIN for every signature"),
        (
            "slots.9C.attestation",
            "optional",
            "slots.9C.attestation",
            "proven generated on the card (attestation: required)",
        ),
        ("slots.9A.attestation", "maybe", "slots.9A.attestation", "'maybe' is not one of"),
        (
            "slots.9A.certificate_profile",
            "tls-server",
            "slots.9A.certificate_profile",
            "is not one of",
        ),
        ("visual.accent_color", "blue", "visual.accent_color", "does not match"),
        ("colour", "red", "(profile)", "Additional properties are not allowed ('colour'"),
    ],
)
def test_invalid_definitions_name_the_path(path, value, error_path, fragment):
    with pytest.raises(ValidationFailed) as caught:
        validate_definition(_mutate(path, value))
    errors = {error.field: error.message for error in caught.value.errors}
    assert error_path in errors, errors
    assert fragment in errors[error_path]


def test_unknown_slot_is_refused():
    definition = _definition()
    definition["slots"]["9B"] = definition["slots"]["9A"]
    with pytest.raises(ValidationFailed, match="9B"):
        validate_definition(definition)


def test_central_generation_is_allowed_for_9d_without_attestation():
    definition = _mutate("slots.9D.key_generation", "central")
    with pytest.raises(ValidationFailed, match="imported cannot be attested"):
        validate_definition(definition)
    definition["slots"]["9D"]["attestation"] = "optional"
    validate_definition(definition)


def test_a_definition_stored_before_attestation_validates_with_its_defaults():
    """Versions stored before the field existed have none: the qualified slot requires it."""
    definition = copy.deepcopy(_definition())
    for spec in definition["slots"].values():
        del spec["attestation"]
    cleaned = validate_definition(definition)
    assert {slot: spec["attestation"] for slot, spec in cleaned["slots"].items()} == {
        "9A": "optional",
        "9C": "required",
        "9D": "optional",
        "9E": "optional",
    }
    assert slot_attestation(definition["slots"]["9C"]) == "required"
    assert slot_attestation(definition["slots"]["9A"]) == "optional"


def test_builtin_profiles_require_attestation_of_every_key_the_card_makes():
    """Every key generated on a card must be proven so; a central key (the escrowed 9D of
    hpc-recoverable) has no attestation to give, and its profile says so."""
    versions = {r.version.profile.name: r.version for r in card_profile_sync_builtin()}
    for version in versions.values():
        for slot, spec in version.slots.items():
            expected = "optional" if spec["key_generation"] == "central" else "required"
            assert spec["attestation"] == expected, (version, slot)
    central = {
        (name, slot)
        for name, version in versions.items()
        for slot, spec in version.slots.items()
        if spec["key_generation"] == "central"
    }
    assert central == {("hpc-recoverable", "9D")}


def test_broken_yaml_says_where():
    with pytest.raises(ValidationFailed, match="line 2"):
        parse_yaml("name: x\n  bad: [unclosed\n", source="upload.yaml")


def test_editing_makes_a_new_version_and_freezes_the_used_one(users, professional):
    profile = card_profile_sync_builtin()[0].version.profile
    v1 = profile.current_version
    card_request_submit(
        professional=professional, profile=profile, by=users[Role.ENROLMENT_OFFICER]
    )

    # A used version cannot change in place, by any path.
    v1.definition = {**v1.definition, "validity_days": 10}
    with pytest.raises(ProfileVersionLocked):
        v1.save()
    with pytest.raises(ProfileVersionLocked):
        v1.delete()
    v1.refresh_from_db()
    assert v1.validity_days != 10

    edited = {**v1.definition, "validity_days": 730}
    result = card_profile_edit(profile=profile, definition=edited, by=users[Role.ADMINISTRATOR])
    assert result.created
    assert result.version.number == v1.number + 1
    assert profile.current_version.validity_days == 730
    v1.refresh_from_db()
    assert v1.validity_days == 1095
    assert v1.card_requests.count() == 1
    event = AuditEvent.objects.filter(event=EventType.CARD_PROFILE_VERSION_CREATED).last()
    assert event.payload["version"] == v1.number + 1


def test_an_unchanged_edit_makes_no_version(users):
    profile = card_profile_sync_builtin()[0].version.profile
    result = card_profile_edit(
        profile=profile, definition=profile.current_version.definition, by=users[Role.ADMINISTRATOR]
    )
    assert not result.created
    assert profile.versions.count() == 1


def test_new_requests_use_the_newest_version(users, professional):
    profile = card_profile_sync_builtin()[0].version.profile
    card_profile_edit(
        profile=profile,
        definition={**profile.current_version.definition, "validity_days": 365},
        by=users[Role.ADMINISTRATOR],
    )
    request = card_request_submit(
        professional=professional, profile=profile, by=users[Role.ENROLMENT_OFFICER]
    )
    assert request.profile_version.number == 2


def test_profile_name_cannot_change_through_an_edit(users):
    profile = card_profile_sync_builtin()[0].version.profile
    with pytest.raises(ValidationFailed, match="must stay"):
        card_profile_edit(
            profile=profile,
            definition={**profile.current_version.definition, "name": "renamed"},
            by=users[Role.ADMINISTRATOR],
        )


def test_api_lists_profiles_with_their_versions(api, users):
    card_profile_sync_builtin()
    client = api.as_user(users[Role.ENCODING_OPERATOR])
    names = [item["name"] for item in client.get("/api/v1/card-profiles/").json()["results"]]
    assert names == ["hpc-physician", "hpc-recoverable", "hpc-rsa"]
    detail = client.get("/api/v1/card-profiles/hpc-rsa/").json()
    assert detail["current_version"]["definition"]["slots"]["9A"]["algorithm"] == "rsa2048"
    assert [v["number"] for v in detail["versions"]] == [1]
    assert client.get("/api/v1/card-profiles/nope/").status_code == 404
