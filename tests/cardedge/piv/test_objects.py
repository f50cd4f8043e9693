"""Data object builders against the byte layouts of SP 800-73-4 Part 1 and Yubico's templates."""

from __future__ import annotations

import datetime as dt
import gzip
import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from cardedge.piv import (
    CardCapabilityContainer,
    CertificateContainer,
    Chuid,
    Discovery,
    Fascn,
    KeyHistory,
    PrintedInformation,
)
from tests.cardedge.certificates import ThrowawayCa

# yubico-piv-tool's set-chuid template FASC-N (piv-brief §5): agency 9999, system 9999,
# credential 999999, series 0, issue 1, person 0000000000, category 3, org 0000, association 1
YUBICO_FASCN = bytes.fromhex("D4E739DA739CED39CE739D836858210842108421C84210C3EB")


def test_default_fascn_is_yubico_s_non_federal_template() -> None:
    assert Fascn().encode() == YUBICO_FASCN
    assert Fascn.decode(YUBICO_FASCN) == Fascn()


def test_fascn_round_trip_and_checks() -> None:
    fascn = Fascn(
        agency_code="1234",
        system_code="0042",
        credential_number="000987",
        person_identifier="1234567890",
    )
    assert Fascn.decode(fascn.encode()) == fascn
    damaged = bytearray(fascn.encode())
    damaged[3] ^= 0x01
    with pytest.raises(ValueError, match=r"parity|LRC"):
        Fascn.decode(bytes(damaged))
    with pytest.raises(ValueError, match="agency_code"):
        Fascn(agency_code="12A4")


def test_chuid_bytes() -> None:
    guid = uuid.UUID("00112233-4455-6677-8899-aabbccddeeff")
    encoded = Chuid(guid=guid, expiry=dt.date(2030, 1, 1)).encode()
    assert encoded == (
        bytes.fromhex("30 19")
        + YUBICO_FASCN
        + bytes.fromhex("34 10 00112233445566778899AABBCCDDEEFF")
        + bytes.fromhex("35 08")
        + b"20300101"
        + bytes.fromhex("3E 00 FE 00")
    )
    assert Chuid.decode(encoded) == Chuid(guid=guid, expiry=dt.date(2030, 1, 1))


def test_chuid_without_guid_is_refused() -> None:
    with pytest.raises(ValueError, match="34"):
        Chuid.decode(bytes.fromhex("30 00 35 08") + b"20300101")


def test_ccc_layout() -> None:
    ccc = CardCapabilityContainer.for_card(bytes(range(14)))
    encoded = ccc.encode()
    assert encoded.startswith(bytes.fromhex("F0 15 A0 00 00 01 16 FF 02") + bytes(range(14)))
    assert encoded.endswith(
        bytes.fromhex(
            "F1 01 21 F2 01 21 F3 00 F4 01 00 F5 01 10 F6 00 F7 00 FA 00 FB 00 FC 00 FD 00 FE 00"
        )
    )
    assert CardCapabilityContainer.decode(encoded) == ccc


def test_discovery_layout_and_vci_refusal() -> None:
    assert Discovery().encode() == bytes.fromhex(
        "4F 0B A0 00 00 03 08 00 00 10 00 01 00 5F 2F 02 40 00"
    )
    with pytest.raises(ValueError, match="virtual contact"):
        Discovery(pin_usage_policy=b"\x48\x00")


def test_key_history() -> None:
    history = KeyHistory(
        keys_with_on_card_certs=1,
        keys_with_off_card_certs=2,
        off_card_cert_url="http://pki.example/kh",
    )
    assert history.encode().startswith(bytes.fromhex("C1 01 01 C2 01 02 F3 15"))
    assert KeyHistory.decode(history.encode()) == history
    with pytest.raises(ValueError, match="URL"):
        KeyHistory(keys_with_off_card_certs=1)


def test_printed_information() -> None:
    printed = PrintedInformation(
        name="Dr Jean Dupont",
        employee_affiliation="Pharmacist",
        expiry=dt.date(2029, 6, 30),
        agency_card_serial_number="0001",
        issuer_identification="CARDFORGE",
    )
    encoded = printed.encode()
    assert bytes.fromhex("04 09") + b"2029JUN30" in encoded
    assert PrintedInformation.decode(encoded) == printed
    with pytest.raises(ValueError, match="employee_affiliation"):
        PrintedInformation(
            name="x",
            employee_affiliation="y" * 21,
            expiry=dt.date(2030, 1, 1),
            agency_card_serial_number="1",
            issuer_identification="z",
        )


def test_certificate_container_plain_and_gzip() -> None:
    ca = ThrowawayCa.create()
    certificate = ca.issue(ec.generate_private_key(ec.SECP256R1()).public_key(), "x")
    plain = CertificateContainer(certificate).encode()
    assert plain.endswith(bytes.fromhex("71 01 00 FE 00"))
    compressed = CertificateContainer(certificate, compressed=True).encode()
    assert compressed.endswith(bytes.fromhex("71 01 01 FE 00"))
    assert CertificateContainer.decode(plain) == CertificateContainer(certificate)
    assert CertificateContainer.decode(compressed) == CertificateContainer(
        certificate, compressed=True
    )
    assert CertificateContainer.decode(b"").certificate is None
    assert CertificateContainer.decode(bytes.fromhex("70 00 71 01 00 FE 00")).certificate is None


def test_a_compressed_certificate_that_inflates_too_far_is_refused() -> None:
    bomb = gzip.compress(bytes(1 << 20))
    contents = b"\x70\x82" + len(bomb).to_bytes(2, "big") + bomb + bytes.fromhex("71 01 01 FE 00")
    with pytest.raises(ValueError, match="inflates"):
        CertificateContainer.decode(contents)
