"""Steps `generate_<slot>`: each slot's key with the profile's PIN policy, made on the card
(before the signer's step, with the card's attestation of it: runner/attestation.py), or, where
the profile says `central`, made and escrowed by the signer and imported here (after it). Run
again, a step makes (or imports) a key that replaces the one no journal entry recorded."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization

from cardedge.piv import KeyAlgorithm, Slot
from cardedge.piv.constants import PinPolicy
from personalization.runner.attestation import attestation_read
from personalization.runner.plan import SIGNER_STEP, generate_step_name
from personalization.runner.steps.base import QualityCheckFailed, Step, StepContext, delivered

KEY_ALGORITHMS = {
    "rsa2048": KeyAlgorithm.RSA2048,
    "eccp256": KeyAlgorithm.ECC_P256,
    "eccp384": KeyAlgorithm.ECC_P384,
}
PIN_POLICIES = {"once": PinPolicy.ONCE, "always": PinPolicy.ALWAYS, "never": PinPolicy.NEVER}


def _public_pem(public_key) -> str:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def generate_key_step(slot_name: str) -> Step:
    def generate(ctx: StepContext) -> dict:
        spec = ctx.slots[slot_name]
        slot = Slot(int(slot_name, 16))
        algorithm = KEY_ALGORITHMS[spec["algorithm"]]
        policy = PIN_POLICIES[spec["pin_policy"]]
        ctx.session.ensure_admin()
        if spec["key_generation"] == "central":
            private_key = serialization.load_der_private_key(
                delivered(ctx).central_keys[slot_name], password=None
            )
            public_pem = _public_pem(private_key.public_key())
            if public_pem != ctx.journal[SIGNER_STEP]["central_public_keys"][slot_name]:
                msg = f"the key delivered for slot {slot_name} is not the one certified"
                raise QualityCheckFailed(msg)
            ctx.client.import_key(slot, private_key, pin_policy=policy)
            origin, attestation = "central, escrowed", {"attestation": None}
        else:
            public_pem = _public_pem(ctx.client.generate_key(slot, algorithm, pin_policy=policy))
            attestation = attestation_read(ctx.client, slot, device=ctx.attestation_device)
            origin = "card"
        return {
            "slot": slot_name,
            "algorithm": spec["algorithm"],
            "origin": origin,
            "public_key": public_pem,
            **attestation,
        }

    return Step(generate_step_name(slot_name), generate)
