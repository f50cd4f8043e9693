"""Step `import_retired_keys` (profiles that escrow 9D): the holder's earlier encryption keys,
opened by the signer from escrow and delivered sealed for this station, go into the retired-key
slots 82, 83, … (newest first) with their certificates; write_objects then has the key history
object say how many there are, so middleware (OpenSC, minidriver) offers them to decrypt
documents encrypted to an earlier card (docs/card-lifecycle.md, "Key recovery"). Run again, it
imports and writes the same again."""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from cardedge.piv import Slot
from cardedge.piv.constants import PinPolicy
from personalization.runner.plan import SIGNER_STEP
from personalization.runner.steps.base import QualityCheckFailed, StepContext, delivered
from pki.models import Certificate


def _public_pem(private_key) -> str:
    return (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def import_retired_keys(ctx: StepContext) -> dict:
    said = ctx.journal[SIGNER_STEP].get("retired", [])
    keys = delivered(ctx).retired_keys
    if len(keys) != len(said):
        msg = f"the signer delivered {len(keys)} earlier keys for {len(said)} journalled"
        raise QualityCheckFailed(msg)
    certificates = Certificate.objects.in_bulk([entry["certificate"] for entry in said])
    client = ctx.client
    if said:
        ctx.session.ensure_admin()
    for entry, der in zip(said, keys, strict=True):
        private_key = serialization.load_der_private_key(der, password=None)
        if _public_pem(private_key) != entry["public_key"]:
            msg = f"the key delivered for retired slot {entry['slot']} is not the one journalled"
            raise QualityCheckFailed(msg)
        slot = Slot(int(entry["slot"], 16))
        client.import_key(slot, private_key, pin_policy=PinPolicy.ONCE)
        certificate = x509.load_der_x509_certificate(bytes(certificates[entry["certificate"]].der))
        client.write_certificate(slot, certificate)
        if client.read_certificate(slot) != certificate:
            msg = f"retired slot {entry['slot']}: the card does not hold the certificate written"
            raise QualityCheckFailed(msg)
    return {
        "retired": [
            {
                "slot": entry["slot"],
                "from_card": entry["from_card"],
                "certificate_serial": entry["certificate_serial"],
            }
            for entry in said
        ]
    }
