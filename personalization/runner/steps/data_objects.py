"""Step `write_objects`: the certificates and the PIV data objects (CHUID, CCC, discovery, key
history, printed information) written to the card; writing them again is harmless. The
quality check reads back the same objects (`card_data_objects`)."""

from __future__ import annotations

from cardedge.piv import (
    CardCapabilityContainer,
    Chuid,
    Discovery,
    KeyHistory,
    PrintedInformation,
    Slot,
)
from personalization.runner.plan import RETIRED_KEYS_STEP
from personalization.runner.steps.base import StepContext, card_certificates
from pki.text import fit_utf8

ISSUER_IDENTIFICATION = "CARDFORGE"


def _fit(text: str, limit: int) -> str:
    """At most `limit` bytes of UTF-8 (printed information, SP 800-73-4 Part 1 Table 13), cut
    between graphemes: never inside a character or between a letter and its combining marks."""
    return fit_utf8(" ".join(text.split()), limit)


def card_data_objects(
    ctx: StepContext,
) -> tuple[Chuid, CardCapabilityContainer, PrintedInformation]:
    card = ctx.card
    holder = ctx.identity  # the approved snapshot, never the live registry record
    expiry = card.expires_at.date()
    chuid = Chuid(guid=card.uuid, expiry=expiry)
    ccc = CardCapabilityContainer.for_card(card.uuid.bytes[:14])
    printed = PrintedInformation(
        name=_fit(holder.full_name, 125),
        employee_affiliation=_fit(holder.profession_label, 20),
        expiry=expiry,
        agency_card_serial_number=card.serial,
        issuer_identification=ISSUER_IDENTIFICATION,
        organization_affiliation_line_1=(
            _fit(holder.organisation_name, 20) if holder.organisation_name else None
        ),
    )
    return chuid, ccc, printed


def write_objects(ctx: StepContext) -> dict:
    ctx.session.ensure_admin()
    client = ctx.client
    for slot_name, certificate in sorted(card_certificates(ctx).items()):
        client.write_certificate(Slot(int(slot_name, 16)), certificate)
    chuid, ccc, printed = card_data_objects(ctx)
    client.write_chuid(chuid)
    client.write_card_capability_container(ccc)
    client.write_discovery(Discovery())
    # The retired keys the step before imported, each with its certificate on the card.
    retired = ctx.journal.get(RETIRED_KEYS_STEP, {}).get("retired", [])
    client.write_key_history(KeyHistory(keys_with_on_card_certs=len(retired)))
    client.write_printed_information(printed)
    return {"objects": ["certificates", "CHUID", "CCC", "discovery", "key history", "printed"]}
