"""PIN/PUK/management-key types and the host-side signature encodings."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from cardedge.piv import ManagementKey, ManagementKeyAlgorithm, Pin, Puk, signing


@pytest.mark.parametrize("value", ["12345", "123456789", "12345a", "١٢٣٤٥٦", ""])
def test_invalid_pins(value: str) -> None:
    with pytest.raises(ValueError, match="6 to 8 digits"):
        Pin(value)


def test_pin_and_puk_padding() -> None:
    assert Pin("123456").padded == bytes.fromhex("31 32 33 34 35 36 FF FF")
    assert Puk("12345678").padded == b"12345678"
    assert len(Pin.generate(8).reveal()) == 8
    assert Pin.generate().reveal().isdigit()


def test_management_key_lengths() -> None:
    with pytest.raises(ValueError, match="24 bytes"):
        ManagementKey(ManagementKeyAlgorithm.AES192, bytes(16))
    for algorithm in ManagementKeyAlgorithm:
        assert len(ManagementKey.generate(algorithm)) == algorithm.key_length
    with pytest.raises(ValueError, match="hexadecimal"):
        ManagementKey.from_hex(ManagementKeyAlgorithm.TDES, "zz")


def test_pkcs1v15_block_makes_a_standard_signature() -> None:
    key = rsa.generate_private_key(65537, 2048)
    message = b"prescription"
    digest = signing.digest(message, hashes.SHA256())
    block = signing.pkcs1v15_signature_block(digest, hashes.SHA256(), 256)
    numbers = key.private_numbers()
    raw = pow(int.from_bytes(block, "big"), numbers.d, numbers.public_numbers.n).to_bytes(
        256, "big"
    )
    assert raw == key.sign(message, padding.PKCS1v15(), hashes.SHA256())


def test_pkcs1v15_refuses_what_it_cannot_encode() -> None:
    with pytest.raises(ValueError, match="digest has 32 bytes"):
        signing.pkcs1v15_signature_block(bytes(20), hashes.SHA256(), 256)
    with pytest.raises(ValueError, match="too short"):
        signing.pkcs1v15_signature_block(bytes(64), hashes.SHA512(), 64)


def test_ecdsa_input_keeps_the_leftmost_bytes() -> None:
    assert signing.ecdsa_input(bytes(range(48)), 32) == bytes(range(32))
