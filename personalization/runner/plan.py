"""The steps of a personalization, by name and label: what pages, the API and commands show.

It imports none of the steps' code (runner/steps/) nor the engine, so readers of a job's
progress depend on this list alone; the engine checks at import that the steps it runs are these
(runner/steps/ `plan`), so the two cannot drift apart.
"""

from __future__ import annotations

FINISH_STEP = "finish"

STEP_LABELS = {
    "identify_card": "Identify the card",
    "authenticate": "Authenticate with the management key",
    "set_pin_puk": "Set PIN and PUK",
    "issue_certificates": "Signer: certificates, PIN and PUK, escrowed keys, management key",
    "import_retired_keys": "Import the holder's earlier encryption keys (retired slots)",
    "write_objects": "Write certificates, CHUID, CCC and printed information",
    "rotate_management_key": "Replace the management key",
    "quality_check": "Quality check: read back, verify the PIN, sign with every key",
    "find_card": "Check the card in the reader is this card",
    "unblock_secrets": "Signer: a new PIN and the card's PUK",
    "reset_pin": "Unblock: reset the PIN with the PUK, verify the new PIN",
    "print_card_face": "Print the card face on the station's printer",
    FINISH_STEP: "Mark the card personalized",
}


# The one step the signer runs (docs/signer.md); every other step runs on the station.
SIGNER_STEP = "issue_certificates"
# An unblock job (docs/card-lifecycle.md, "PIN unblock"): the signer's step gives the station
# the card's managed PUK and a new PIN.
UNBLOCK_SIGNER_STEP = "unblock_secrets"
UNBLOCK_STEPS = ["find_card", UNBLOCK_SIGNER_STEP, "reset_pin", FINISH_STEP]
SIGNER_STEPS = frozenset({SIGNER_STEP, UNBLOCK_SIGNER_STEP})
# A profile whose encryption key (9D) is escrowed gives a new card the holder's earlier ones.
RETIRED_KEYS_STEP = "import_retired_keys"


def on_card_slots(profile: dict) -> list[str]:
    """Slots whose key the card generates (before the signer step)."""
    slots = profile["slots"]
    return sorted(slot for slot in slots if slots[slot]["key_generation"] != "central")


def central_slots(profile: dict) -> list[str]:
    """Slots whose key the signer makes and escrows, imported after the signer step."""
    slots = profile["slots"]
    return sorted(slot for slot in slots if slots[slot]["key_generation"] == "central")


def receives_retired_keys(profile: dict) -> bool:
    """Its cards receive the holder's earlier escrowed encryption keys (docs/card-lifecycle.md,
    "Key recovery"): the profile escrows 9D."""
    return "9D" in central_slots(profile)


# The card face printed by the station's printer (runner/steps/printing.py): right after the
# card is identified (its serial is known) when the station prints before encoding, after the
# quality check when it prints after.
PRINT_STEP = "print_card_face"


def station_printing(station) -> dict:
    """A station's printer settings as a job snapshots them when an attempt starts
    (PersonalizationJob.printing); {} for a station without a printer."""
    if not station.printer_uri:
        return {}
    return {
        "uri": station.printer_uri,
        "sides": station.printer_sides,
        "color": station.printer_color,
        "placement": station.printer_placement,
    }


def job_printing(job) -> dict:
    """What the job prints: its snapshot once it has started, its station's settings while it
    waits to start."""
    if job.status == "waiting":
        return station_printing(job.station)
    return job.printing or {}


def step_names_for_profile(profile: dict, printing: dict | None = None) -> list[str]:
    """The steps a card of this profile definition goes through, in order, `finish` last: the
    card makes its keys, the signer certifies them and makes what the station needs (PIN and
    PUK, central keys, the card's management key), the station writes it all; its face is
    printed before or after, on a station with a printer (`printing`)."""
    placement = (printing or {}).get("placement")
    return [
        "identify_card",
        *([PRINT_STEP] if placement == "before" else []),
        "authenticate",
        *(generate_step_name(slot) for slot in on_card_slots(profile)),
        SIGNER_STEP,
        "set_pin_puk",
        *(generate_step_name(slot) for slot in central_slots(profile)),
        *([RETIRED_KEYS_STEP] if receives_retired_keys(profile) else []),
        "write_objects",
        "rotate_management_key",
        "quality_check",
        *([PRINT_STEP] if placement == "after" else []),
        FINISH_STEP,
    ]


def generate_step_name(slot: str) -> str:
    return f"generate_{slot.lower()}"


def step_names(job) -> list[str]:
    """The steps of `job`: an unblock's, or a personalization's (its request's profile version
    decides which keys are made)."""
    if job.kind == "unblock":
        return list(UNBLOCK_STEPS)
    return step_names_for_profile(job.card_request.profile_version.definition, job_printing(job))


def signer_step_of(job) -> str:
    return UNBLOCK_SIGNER_STEP if job.kind == "unblock" else SIGNER_STEP


def step_label(name: str) -> str:
    if name in STEP_LABELS:
        return STEP_LABELS[name]
    if name.startswith("generate_"):
        return f"Generate the {name.removeprefix('generate_').upper()} key"
    return name.replace("_", " ").capitalize()
