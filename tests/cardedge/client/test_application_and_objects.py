"""SELECT, data objects and certificates through the client, on both transports."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from cardedge.piv import (
    CardCapabilityContainer,
    Chuid,
    DataObjectNotFound,
    Discovery,
    KeyHistory,
    ObjectTag,
    Pin,
    PivClient,
    PrintedInformation,
    SecurityStatusNotSatisfied,
    Slot,
)
from cardedge.piv.constants import KeyAlgorithm
from cardedge.piv.secrets import default_management_key
from tests.cardedge.certificates import ThrowawayCa


def test_select_returns_the_application_property_template(client: PivClient) -> None:
    properties = client.select()
    assert properties.aid == bytes.fromhex("000010000100")
    assert properties.label == "CardForge PIV"
    assert {0x03, 0x08, 0x0A, 0x0C, 0x07, 0x11, 0x14} <= set(properties.algorithms)
    # Secure messaging suites would switch OpenSC to SM (piv-brief §11)
    assert not {0x27, 0x2E} & set(properties.algorithms)


def test_a_blank_card_has_discovery_but_no_chuid(client: PivClient) -> None:
    assert client.read_discovery() == Discovery(pin_usage_policy=b"\x40\x00")
    with pytest.raises(DataObjectNotFound) as caught:
        client.read_chuid()
    assert caught.value.sw == 0x6A82
    assert client.read_certificate(Slot.PIV_AUTHENTICATION) is None


def test_writing_objects_needs_the_management_key(client: PivClient) -> None:
    chuid = Chuid(guid=uuid.uuid4(), expiry=dt.date(2031, 12, 31))
    with pytest.raises(SecurityStatusNotSatisfied) as caught:
        client.write_chuid(chuid)
    assert caught.value.sw == 0x6982
    client.authenticate(default_management_key())
    client.write_chuid(chuid)
    assert client.read_chuid() == chuid


def test_chuid_ccc_discovery_and_key_history_round_trip(client: PivClient) -> None:
    client.authenticate(default_management_key())
    chuid = Chuid(
        guid=uuid.UUID("5e1f0c9a-1d2b-4c3d-8e4f-50617283a4b5"),
        expiry=dt.date(2030, 1, 1),
        cardholder_uuid=uuid.uuid4(),
    )
    ccc = CardCapabilityContainer.for_card(bytes(range(14)))
    discovery = Discovery(pin_usage_policy=b"\x40\x10")
    history = KeyHistory(keys_with_on_card_certs=2, keys_with_off_card_certs=0)
    client.write_chuid(chuid)
    client.write_card_capability_container(ccc)
    client.write_discovery(discovery)
    client.write_key_history(history)
    assert client.read_chuid() == chuid
    assert client.read_card_capability_container() == ccc
    assert client.read_discovery() == discovery
    assert client.read_key_history() == history


def test_printed_information_needs_the_pin_to_read(client: PivClient) -> None:
    printed = PrintedInformation(
        name="Dr Camille Martin",
        employee_affiliation="Physician",
        expiry=dt.date(2029, 6, 30),
        agency_card_serial_number="CF-000042",
        issuer_identification="CARDFORGE",
        organization_affiliation_line_1="CHU de Lyon",
    )
    client.authenticate(default_management_key())
    client.write_printed_information(printed)
    with pytest.raises(SecurityStatusNotSatisfied):
        client.read_printed_information()
    client.verify_pin(Pin("123456"))
    assert client.read_printed_information() == printed


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_certificates_round_trip_through_chained_commands(
    client: PivClient, test_ca: ThrowawayCa, compress: bool
) -> None:
    # A 1.5 KB certificate needs command chaining to write (>255) and 61xx to read (>256).
    certificate = test_ca.issue(
        ec.generate_private_key(ec.SECP256R1()).public_key(), "Dr Chained", padding_bytes=1200
    )
    client.authenticate(default_management_key())
    client.write_certificate(Slot.DIGITAL_SIGNATURE, certificate, compress=compress)
    before = client.apdu_count
    assert client.read_certificate(Slot.DIGITAL_SIGNATURE) == certificate
    if not compress:
        assert client.apdu_count - before >= 7  # GET DATA + at least 6 GET RESPONSEs
    raw = client.get_object(ObjectTag.DIGITAL_SIGNATURE_CERTIFICATE)
    assert raw.endswith(b"\x71\x01" + (b"\x01" if compress else b"\x00") + b"\xfe\x00")
    client.delete_certificate(Slot.DIGITAL_SIGNATURE)
    assert client.read_certificate(Slot.DIGITAL_SIGNATURE) is None


def test_a_large_object_is_stored_whole(client: PivClient) -> None:
    client.authenticate(default_management_key())
    facial_image = bytes(range(256)) * 40  # 10 KB, within the facial image container's limit
    contents = b"\xbc\x82" + len(facial_image).to_bytes(2, "big") + facial_image + b"\xfe\x00"
    client.put_object(ObjectTag.FACIAL_IMAGE, contents)
    client.verify_pin(Pin("123456"))
    assert client.get_object(ObjectTag.FACIAL_IMAGE) == contents


def test_generated_key_certificate_matches(client: PivClient, test_ca: ThrowawayCa) -> None:
    client.authenticate(default_management_key())
    public_key = client.generate_key(Slot.CARD_AUTHENTICATION, KeyAlgorithm.ECC_P256)
    certificate = test_ca.issue(public_key, "Card 9E")
    client.write_certificate(Slot.CARD_AUTHENTICATION, certificate)
    stored = client.read_certificate(Slot.CARD_AUTHENTICATION)
    assert stored is not None
    assert stored.public_key() == public_key
