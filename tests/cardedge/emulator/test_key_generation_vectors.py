"""GENERATE ASYMMETRIC KEY PAIR responses at the byte level (SP 800-73-4 Part 2 §3.3.2, Table 11;
piv-brief §8: RSA `81` then `82` — libykpiv parses by position — or ECC `86`)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from cardedge.emulator import PivCardEmulator
from cardedge.piv.constants import KeyAlgorithm
from tests.cardedge.emulator.apdus import DEFAULT_3DES_KEY, send, sw
from tests.cardedge.emulator.test_general_authenticate import authenticate_3des

_RSA_KEY = rsa.generate_private_key(65537, 2048)


def _fixed_keys(algorithm: KeyAlgorithm) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    if algorithm is KeyAlgorithm.RSA2048:
        return _RSA_KEY
    curve = ec.SECP256R1() if algorithm is KeyAlgorithm.ECC_P256 else ec.SECP384R1()
    return ec.derive_private_key(0x1234567890ABCDEF, curve)


@pytest.fixture
def card() -> PivCardEmulator:
    card = PivCardEmulator(generate_key=_fixed_keys)
    authenticate_3des(card, DEFAULT_3DES_KEY)
    return card


def test_rsa_2048_response_layout(card: PivCardEmulator) -> None:
    first, status = send(card, "00 47 00 9A 05 AC 03 80 01 07 00")
    assert status == 0x610E  # 7F49 82 01 09 + 265 bytes = 270 = 256 + 14 (0x0E)
    rest, status = send(card, "00 C0 00 00 00")
    assert status == 0x9000
    response = first + rest
    modulus = _RSA_KEY.public_key().public_numbers().n.to_bytes(256, "big")
    assert response == bytes.fromhex("7F 49 82 01 09 81 82 01 00") + modulus + bytes.fromhex(
        "82 03 01 00 01"
    )


@pytest.mark.parametrize(
    ("p1", "curve", "header"),
    [("11", ec.SECP256R1(), "7F 49 43 86 41"), ("14", ec.SECP384R1(), "7F 49 63 86 61")],
    ids=["P256", "P384"],
)
def test_ecc_response_layout(
    card: PivCardEmulator, p1: str, curve: ec.EllipticCurve, header: str
) -> None:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    data, status = send(card, f"00 47 00 9C 05 AC 03 80 01 {p1} 00")
    assert status == 0x9000
    point = ec.derive_private_key(0x1234567890ABCDEF, curve).public_key()
    assert data == bytes.fromhex(header) + point.public_bytes(
        Encoding.X962, PublicFormat.UncompressedPoint
    )


def test_yubico_policies_are_accepted(card: PivCardEmulator) -> None:
    assert sw(card, "00 47 00 9A 0B AC 09 80 01 11 AA 01 02 AB 01 01 00") == 0x9000
    data, status = send(card, "00 F7 00 9A 00")
    assert status == 0x9000
    assert data.startswith(bytes.fromhex("01 01 11 02 02 02 01 03 01 01 04 43 86 41 04"))


@pytest.mark.parametrize(
    ("apdu", "expected"),
    [
        ("00 47 00 9B 05 AC 03 80 01 11 00", 0x6A86),  # 9B is symmetric
        ("00 47 00 42 05 AC 03 80 01 11 00", 0x6A86),
        ("00 47 01 9A 05 AC 03 80 01 11 00", 0x6A86),
        ("00 47 00 9A 05 AC 03 80 01 06 00", 0x6A80),  # RSA-1024 is not offered
        ("00 47 00 9A 05 AC 03 80 01 E0 00", 0x6A80),  # Ed25519 neither
        ("00 47 00 9A 05 AC 03 81 01 11 00", 0x6A80),  # no algorithm
        ("00 47 00 9A 05 AD 03 80 01 11 00", 0x6A80),  # not a control reference template
        ("00 47 00 9A 08 AC 06 80 01 11 AA 01 09 00", 0x6A80),  # PIN policy 09
        ("00 47 00 9A 07 AC 05 80 01 11 C0 00 00", 0x6A80),  # unknown tag inside AC
    ],
)
def test_generate_errors(card: PivCardEmulator, apdu: str, expected: int) -> None:
    assert sw(card, apdu) == expected


def test_generate_needs_the_management_key(emulator: PivCardEmulator) -> None:
    assert sw(emulator, "00 47 00 9A 05 AC 03 80 01 11 00") == 0x6982
