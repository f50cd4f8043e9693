"""A full card preparation with the PIV client, as a personalization job does it (DESIGN.md):
management-key authentication, PIN and PUK change, a key generated in each of the four slots,
a certificate for each, CHUID, CCC, discovery, key history, printed information, and a
read-back of everything. Used by the middleware tests and by benchmarks/card_preparation.py.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from dataclasses import dataclass, field

from cryptography import x509

from cardedge.piv import (
    CardCapabilityContainer,
    Chuid,
    Discovery,
    KeyAlgorithm,
    KeyHistory,
    ManagementKey,
    Pin,
    PivClient,
    PrintedInformation,
    Puk,
    Slot,
)
from cardedge.piv.algorithms import PublicKey
from cardedge.piv.secrets import DEFAULT_PIN, DEFAULT_PUK, default_management_key
from tests.cardedge.certificates import ThrowawayCa

SLOT_PLAN: dict[Slot, KeyAlgorithm] = {
    Slot.PIV_AUTHENTICATION: KeyAlgorithm.RSA2048,
    Slot.DIGITAL_SIGNATURE: KeyAlgorithm.ECC_P256,
    Slot.KEY_MANAGEMENT: KeyAlgorithm.ECC_P384,
    Slot.CARD_AUTHENTICATION: KeyAlgorithm.ECC_P256,
}
# DESIGN.md allows P-256 for 9A too: the all-ECC profile.
ECC_SLOT_PLAN: dict[Slot, KeyAlgorithm] = {
    **SLOT_PLAN,
    Slot.PIV_AUTHENTICATION: KeyAlgorithm.ECC_P256,
}


@dataclass
class PreparedCard:
    pin: Pin
    puk: Puk
    chuid: Chuid
    certificates: dict[Slot, x509.Certificate] = field(default_factory=dict)
    public_keys: dict[Slot, PublicKey] = field(default_factory=dict)


def prepare_card(
    client: PivClient,
    ca: ThrowawayCa,
    *,
    pin: Pin,
    puk: Puk,
    holder: str = "Dr Camille Martin",
    management_key: ManagementKey | None = None,
    plan: dict[Slot, KeyAlgorithm] | None = None,
) -> PreparedCard:
    client.authenticate(management_key or default_management_key())
    client.change_pin(Pin(DEFAULT_PIN), pin)
    client.change_puk(Puk(DEFAULT_PUK), puk)
    chuid = Chuid(guid=uuid.uuid4(), expiry=dt.date.today() + dt.timedelta(days=3 * 365))
    prepared = PreparedCard(pin=pin, puk=puk, chuid=chuid)
    for slot, algorithm in (plan or SLOT_PLAN).items():
        public_key = client.generate_key(slot, algorithm)
        certificate = ca.issue(public_key, f"{holder} ({slot.name.replace('_', ' ').lower()})")
        client.write_certificate(slot, certificate)
        prepared.public_keys[slot] = public_key
        prepared.certificates[slot] = certificate
    ccc = CardCapabilityContainer.for_card(secrets.token_bytes(14))
    client.write_chuid(chuid)
    client.write_card_capability_container(ccc)
    client.write_discovery(Discovery())
    client.write_key_history(KeyHistory())
    client.write_printed_information(
        PrintedInformation(
            name=holder,
            employee_affiliation="Physician",
            expiry=chuid.expiry,
            agency_card_serial_number=str(chuid.guid)[:20],
            issuer_identification="CARDFORGE",
        )
    )
    # read-back: what a quality check does before the card is declared personalized
    for slot, certificate in prepared.certificates.items():
        if client.read_certificate(slot) != certificate:
            msg = f"certificate in slot {slot:02X} did not read back"
            raise AssertionError(msg)
    if client.read_chuid() != chuid or client.read_card_capability_container() != ccc:
        msg = "CHUID or CCC did not read back"
        raise AssertionError(msg)
    if client.read_discovery() != Discovery():
        msg = "discovery object did not read back"
        raise AssertionError(msg)
    return prepared
