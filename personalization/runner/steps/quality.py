"""Step `quality_check`: everything written is read back and every key signs; it changes
nothing on the card, so it may run again."""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding

from cardedge.piv import Discovery, Slot
from cardedge.piv.algorithms import algorithm_of
from cardedge.piv.errors import SecurityStatusNotSatisfied
from personalization.runner.plan import RETIRED_KEYS_STEP
from personalization.runner.steps.base import (
    QualityCheckFailed,
    StepContext,
    card_certificates,
    delivered,
)
from personalization.runner.steps.data_objects import card_data_objects


def _verify(public_key, signature: bytes, message: bytes) -> None:
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        public_key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
    else:
        public_key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())


def quality_check(ctx: StepContext) -> dict:
    """Read every object back, verify the PIN, sign a fresh challenge with every key and check
    each signature against its certificate. Any difference fails the job."""
    client = ctx.client
    certificates = card_certificates(ctx)
    for slot_name, certificate in certificates.items():
        on_card = client.read_certificate(Slot(int(slot_name, 16)))
        if on_card is None or on_card != certificate:
            msg = f"the certificate in slot {slot_name} did not read back"
            raise QualityCheckFailed(msg)
    # The holder's earlier encryption keys (import_retired_keys): each with its certificate.
    retired = {
        entry["slot"]: client.read_certificate(Slot(int(entry["slot"], 16)))
        for entry in ctx.journal.get(RETIRED_KEYS_STEP, {}).get("retired", [])
    }
    if None in retired.values():
        msg = "a retired slot's certificate did not read back"
        raise QualityCheckFailed(msg)
    chuid, ccc, printed = card_data_objects(ctx)
    checks = {
        "CHUID": client.read_chuid() == chuid,
        "CCC": client.read_card_capability_container() == ccc,
        "discovery": client.read_discovery() == Discovery(),
        "key history": client.read_key_history().keys_with_on_card_certs == len(retired),
    }
    pin = delivered(ctx).pin
    client.verify_pin(pin)
    checks["printed information"] = client.read_printed_information() == printed
    failed = [name for name, ok in checks.items() if not ok]
    if failed:
        msg = f"{', '.join(failed)} did not read back"
        raise QualityCheckFailed(msg)
    signed = []
    for slot_name, certificate in sorted({**certificates, **retired}.items()):
        slot = Slot(int(slot_name, 16))
        public_key = certificate.public_key()
        algorithm = algorithm_of(public_key)
        challenge = os.urandom(32)
        if slot_name in ctx.slots and ctx.slots[slot_name]["pin_policy"] == "always":
            client.verify_pin(pin)  # SP 800-73-4: the signature key wants the PIN every time
        try:
            signature = client.sign(slot, challenge, algorithm=algorithm)
            _verify(public_key, signature, challenge)
        except SecurityStatusNotSatisfied:
            msg = f"the key in slot {slot_name} refused to sign with the PIN verified"
            raise QualityCheckFailed(msg) from None
        except InvalidSignature:
            msg = f"the key in slot {slot_name} does not match its certificate"
            raise QualityCheckFailed(msg) from None
        signed.append(slot_name)
    client.logout()
    return {"read_back": ["certificates", *checks], "signed": signed}
