"""Steps `generate_<slot>`: each slot's key, made on the card (or centrally and escrowed where
the profile says `central`) with the profile's PIN policy, and the card's attestation of a key it
made (runner/attestation.py). Run again, it makes a key that replaces the one no journal entry
recorded."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.db import transaction

from cardedge.piv import KeyAlgorithm, Slot
from cardedge.piv.algorithms import curve_for, rsa_bits_for
from cardedge.piv.constants import PinPolicy
from cards.services.secrets import escrowed_key_keep
from personalization.runner.attestation import attestation_read
from personalization.runner.plan import generate_step_name
from personalization.runner.steps.base import Step, StepContext

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


def _central_key(algorithm: KeyAlgorithm):
    if algorithm.is_rsa:
        return rsa.generate_private_key(65537, rsa_bits_for(algorithm))
    return ec.generate_private_key(curve_for(algorithm))


def generate_key_step(slot_name: str) -> Step:
    def generate(ctx: StepContext) -> dict:
        spec = ctx.slots[slot_name]
        slot = Slot(int(slot_name, 16))
        algorithm = KEY_ALGORITHMS[spec["algorithm"]]
        policy = PIN_POLICIES[spec["pin_policy"]]
        ctx.session.ensure_admin()
        if spec["key_generation"] == "central":
            private_key = _central_key(algorithm)
            der = private_key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            public_pem = _public_pem(private_key.public_key())
            with transaction.atomic():
                escrowed_key_keep(
                    card=ctx.card, slot=slot_name, private_der=der, public_pem=public_pem
                )
            ctx.client.import_key(slot, private_key, pin_policy=policy)
            origin, attestation = "central, escrowed", {"attestation": None}
        else:
            public_pem = _public_pem(ctx.client.generate_key(slot, algorithm, pin_policy=policy))
            origin, attestation = "card", attestation_read(ctx.client, slot)
        return {
            "slot": slot_name,
            "algorithm": spec["algorithm"],
            "origin": origin,
            "public_key": public_pem,
            **attestation,
        }

    return Step(generate_step_name(slot_name), generate)
