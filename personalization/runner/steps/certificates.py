"""Step `issue_certificates`: one certificate per slot for the public key its generate step
journalled, signed once every slot's attestation is verified and the approval is checked again
(see issue_certificates)."""

from __future__ import annotations

from collections.abc import Callable

from cryptography import x509
from django.db import transaction

from personalization.runner.approval import approved_identity
from personalization.runner.attestation import attestation_trust, journal_attestations_verify
from personalization.runner.plan import generate_step_name
from personalization.runner.steps.base import StepContext
from pki.services.certificates import (
    CertificateRequest,
    certificates_record,
    certificates_sign,
)


def issue_certificates(ctx: StepContext, record: Callable[[dict], None]) -> dict:
    """One certificate per slot, for the public key the card returned; recorded and journalled
    in one transaction, so a crash cannot leave certificates the journal does not know.
    Nothing is signed unless every slot's key is attested as the profile asks."""
    attestations = journal_attestations_verify(
        journal=ctx.journal, profile=ctx.profile, trust=attestation_trust()
    )
    requests = []
    for slot_name, spec in sorted(ctx.slots.items()):
        generated = ctx.journal[generate_step_name(slot_name)]
        requests.append(
            CertificateRequest(
                public_key=generated["public_key"],
                profile=spec["certificate_profile"],
                slot=slot_name,
            )
        )
    # The approval is checked again right before signing, from the database as it is now, and
    # the certificates say what it covers. Signed before the transaction, which then holds the
    # database (SQLite: every writer) for the writes alone.
    ctx.identity = approved_identity(ctx.job.card_request_id)
    signed = certificates_sign(
        requests=requests, professional=ctx.card.professional, identity=ctx.identity, card=ctx.card
    )
    with transaction.atomic():
        issued = certificates_record(signed)
        detail = {
            "certificates": {cert.card_slot: cert.pk for cert in issued},
            "serials": {cert.card_slot: cert.serial for cert in issued},
            "attestations": attestations,
        }
        record(detail)
    ctx.certificates = {
        cert.card_slot: x509.load_der_x509_certificate(bytes(cert.der)) for cert in issued
    }
    return detail
