"""The attestation check before any certificate is signed (docs/signer.md, "Attestation").

Each `generate_<slot>` step journals, next to the public key, what the card said to prove the key
was generated on it: its attestation (F9) certificate and the slot's attestation, DER in base64
(`attestation_read`). `journal_attestations_verify` checks every slot of the profile against
that journal: a slot whose profile requires attestation and has none, or any slot whose
attestation does not verify (a lie is worse than nothing), fails with one `AttestationInvalid`
naming each slot and why. The certificates step calls it before it signs anything; the signer
will call the same function on the journal a station sends it.
"""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives.serialization import Encoding, load_pem_public_key

from cardedge.piv import PivClient, Slot
from cardedge.piv.errors import CardStatusError, UnsupportedCapability
from cardprofiles.schema import slot_attestation
from personalization.runner.plan import generate_step_name
from pki.attestation import (
    AttestationInvalid,
    AttestationTrust,
    attestation_trust_load,
    attestation_verify,
)
from pki.conf import attestation_roots_directory


def attestation_read(client: PivClient, slot: Slot, *, device: dict[str, str]) -> dict:
    """What the card says of the key it just generated in `slot`, for the step's journal entry:
    `{"attestation": {"device_certificate": b64, "slot_certificate": b64}}`, or
    `{"attestation": None, "attestation_refused": why}` when the card cannot or will not attest
    (a card refuses to attest an imported key). Errors on the wire are not refusals: raised.
    `device` keeps the card's F9 certificate for the run (read once, not once a slot)."""
    if not client.capabilities().attestation:
        return {"attestation": None, "attestation_refused": "the card cannot attest (no F9)"}
    try:
        statement = client.attest(slot)
        if "certificate" not in device:
            device["certificate"] = _b64(
                client.read_attestation_certificate().public_bytes(Encoding.DER)
            )
    except (CardStatusError, UnsupportedCapability) as refusal:
        return {"attestation": None, "attestation_refused": f"the card refused: {refusal}"}
    return {
        "attestation": {
            "device_certificate": device["certificate"],
            "slot_certificate": _b64(statement.public_bytes(Encoding.DER)),
        }
    }


_trust_cache: dict[tuple, AttestationTrust] = {}


def attestation_trust() -> AttestationTrust:
    """The configured roots (settings.CARDFORGE_ATTESTATION_ROOTS): a root added, changed or
    withdrawn counts from the next job on. Parsed again only when a file of the directory
    changed (its names, sizes and modification times are the cache's key)."""
    directory = attestation_roots_directory()
    try:
        files = (
            tuple(
                (entry.name, entry.stat().st_mtime_ns, entry.stat().st_size)
                for entry in sorted(directory.iterdir())
            )
            if directory is not None and directory.is_dir()
            else ()
        )
    except OSError:
        files = ()
    key = (str(directory), files)
    if key not in _trust_cache:
        _trust_cache.clear()
        _trust_cache[key] = attestation_trust_load(directory)
    return _trust_cache[key]


def journal_attestations_verify(
    *, journal: dict[str, dict], profile: dict, trust: AttestationTrust
) -> dict[str, dict | None]:
    """Every slot's attestation as the profile asks, from the generate steps' journal entries:
    by slot, what a verified attestation says (serial, firmware, policies), or None for an
    optional slot the card could not attest. AttestationInvalid names every slot that fails."""
    verified: dict[str, dict | None] = {}
    problems: list[str] = []
    for slot_name, spec in sorted(profile["slots"].items()):
        # A central key is made by the signer and imported after it: it has no attestation.
        entry = (
            journal[generate_step_name(slot_name)]
            if spec["key_generation"] != "central"
            else {"origin": "central"}
        )
        statement = entry.get("attestation")
        if not statement:
            if slot_attestation(spec) == "required":
                why = entry.get("attestation_refused") or (
                    "the key was made off the card"
                    if entry.get("origin") != "card"
                    else "the card gave none"
                )
                problems.append(f"slot {slot_name}: attestation is required, but {why}")
            verified[slot_name] = None
            continue
        try:
            attestation = attestation_verify(
                device_certificate=base64.b64decode(statement["device_certificate"]),
                slot_certificate=base64.b64decode(statement["slot_certificate"]),
                trust=trust,
                public_key=load_pem_public_key(entry["public_key"].encode()),
                slot=slot_name,
            )
        except AttestationInvalid as invalid:
            problems.append(invalid.message)
            continue
        verified[slot_name] = attestation.as_dict()
    if problems:
        msg = "; ".join(problems) + ". No certificate was issued."
        raise AttestationInvalid(msg)
    return verified


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
