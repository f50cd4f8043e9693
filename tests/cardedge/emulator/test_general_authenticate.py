"""GENERAL AUTHENTICATE at the APDU level (SP 800-73-4 Part 2 §3.2.4; piv-brief §7).

Known-answer vectors: FIPS-197 Appendix C (AES) and SP 800-67 Rev. 1 Appendix B (TDEA),
checked with the `openssl enc` command line. The card's "random" witness is fixed to the
vector's plaintext, so the card must answer with the vector's ciphertext.
"""

from __future__ import annotations

import pytest
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from cardedge.emulator import FactorySettings, PivCardEmulator
from cardedge.piv import ManagementKey, ManagementKeyAlgorithm
from tests.cardedge.emulator.apdus import DEFAULT_3DES_KEY, VERIFY_123456, send, sw

KNOWN_ANSWERS = {
    ManagementKeyAlgorithm.TDES: (
        "0123456789ABCDEF23456789ABCDEF01456789ABCDEF0123",
        "5468652071756663",
        "A826FD8CE53B855F",
    ),
    ManagementKeyAlgorithm.AES128: (
        "000102030405060708090A0B0C0D0E0F",
        "00112233445566778899AABBCCDDEEFF",
        "69C4E0D86A7B0430D8CDB78070B4C55A",
    ),
    ManagementKeyAlgorithm.AES192: (
        "000102030405060708090A0B0C0D0E0F1011121314151617",
        "00112233445566778899AABBCCDDEEFF",
        "DDA97CA4864CDFE06EAF70A0EC0D7191",
    ),
    ManagementKeyAlgorithm.AES256: (
        "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
        "00112233445566778899AABBCCDDEEFF",
        "8EA2B7CA516745BFEAFC49904B496089",
    ),
}


def _ecb(key: bytes, block: bytes, *, decrypt: bool = False) -> bytes:
    primitive = TripleDES(key) if len(block) == 8 else algorithms.AES(key)
    cipher = Cipher(primitive, modes.ECB())
    context = cipher.decryptor() if decrypt else cipher.encryptor()
    return context.update(block) + context.finalize()


def authenticate_3des(card: PivCardEmulator, key: bytes) -> None:
    """Mutual authentication as libykpiv does it (piv-brief §7)."""
    data, status = send(card, "00 87 03 9B 04 7C 02 80 00")
    assert status == 0x9000
    witness = _ecb(key, data[4:12], decrypt=True)
    challenge = bytes(range(8))
    step2 = (
        bytes.fromhex("00 87 03 9B 16 7C 14 80 08") + witness + bytes.fromhex("81 08") + challenge
    )
    data, status = send(card, step2)
    assert status == 0x9000
    assert data == bytes.fromhex("7C 0A 82 08") + _ecb(key, challenge)


def _card_with(
    algorithm: ManagementKeyAlgorithm, key: bytes, random_value: bytes
) -> PivCardEmulator:
    factory = FactorySettings(management_key=ManagementKey(algorithm, key))
    return PivCardEmulator(factory=factory, random_bytes=lambda n: random_value[:n])


@pytest.mark.parametrize("algorithm", list(KNOWN_ANSWERS), ids=lambda a: a.name)
def test_mutual_authentication_known_answers(algorithm: ManagementKeyAlgorithm) -> None:
    key_hex, plain_hex, cipher_hex = KNOWN_ANSWERS[algorithm]
    key, plain, cipher = bytes.fromhex(key_hex), bytes.fromhex(plain_hex), bytes.fromhex(cipher_hex)
    block = len(plain)
    card = _card_with(algorithm, key, plain)
    p1 = f"{algorithm.value:02X}"
    # step 1: the card encrypts its witness (= the vector's plaintext): 7C L 80 L E(W)
    data, status = send(card, f"00 87 {p1} 9B 04 7C 02 80 00")
    assert status == 0x9000
    assert data == bytes([0x7C, block + 2, 0x80, block]) + cipher
    # step 2: host returns W and its own challenge C (= the plaintext again); card answers E(C)
    body = bytes([0x7C, 2 * block + 4, 0x80, block]) + plain + bytes([0x81, block]) + plain
    data, status = send(card, bytes([0x00, 0x87, algorithm, 0x9B, len(body)]) + body)
    assert (data, status) == (bytes([0x7C, block + 2, 0x82, block]) + cipher, 0x9000)
    # and the management key is now authenticated: GENERATE is allowed
    assert sw(card, "00 47 00 9A 05 AC 03 80 01 11 00") == 0x9000


def test_a_wrong_witness_fails_and_grants_nothing() -> None:
    card = _card_with(ManagementKeyAlgorithm.TDES, DEFAULT_3DES_KEY, bytes(8))
    assert sw(card, "00 87 03 9B 04 7C 02 80 00") == 0x9000
    body = "7C 14 80 08 01 01 01 01 01 01 01 01 81 08 00 00 00 00 00 00 00 00"
    assert sw(card, f"00 87 03 9B 16 {body}") == 0x6982
    assert sw(card, "00 47 00 9A 05 AC 03 80 01 11 00") == 0x6982


def test_the_challenge_is_good_for_the_next_command_only() -> None:
    card = _card_with(ManagementKeyAlgorithm.TDES, DEFAULT_3DES_KEY, bytes(8))
    assert sw(card, "00 87 03 9B 04 7C 02 80 00") == 0x9000
    assert sw(card, "00 CB 3F FF 03 5C 01 7E 00") == 0x9000  # anything in between…
    body = "7C 14 80 08 00 00 00 00 00 00 00 00 81 08 00 00 00 00 00 00 00 00"
    assert sw(card, f"00 87 03 9B 16 {body}") == 0x6982  # …and the witness is gone


def test_step_two_without_step_one() -> None:
    card = _card_with(ManagementKeyAlgorithm.TDES, DEFAULT_3DES_KEY, bytes(8))
    body = "7C 14 80 08 00 00 00 00 00 00 00 00 81 08 00 00 00 00 00 00 00 00"
    assert sw(card, f"00 87 03 9B 16 {body}") == 0x6982


def test_opensc_random_request_with_p1_00(emulator: PivCardEmulator) -> None:
    data, status = send(emulator, "00 87 00 9B 04 7C 02 81 00")
    assert status == 0x9000
    assert data[:4] == bytes.fromhex("7C 0A 81 08")
    authenticate_3des(emulator, DEFAULT_3DES_KEY)  # and mutual authentication still works


def test_opensc_random_request_with_an_aes_key() -> None:
    card = _card_with(ManagementKeyAlgorithm.AES128, bytes(16), bytes(range(16)))
    data, status = send(card, "00 87 00 9B 04 7C 02 81 00")
    assert (data[:4], status) == (bytes.fromhex("7C 0A 81 08"), 0x9000)
    assert sw(card, "00 87 03 9B 04 7C 02 81 00") == 0x6A80  # 3DES is not this card's algorithm


def test_external_authentication() -> None:
    key_hex, plain_hex, cipher_hex = KNOWN_ANSWERS[ManagementKeyAlgorithm.AES256]
    card = _card_with(
        ManagementKeyAlgorithm.AES256, bytes.fromhex(key_hex), bytes.fromhex(plain_hex)
    )
    data, status = send(card, "00 87 0C 9B 04 7C 02 81 00")
    assert (data, status) == (bytes.fromhex("7C 12 81 10" + plain_hex), 0x9000)
    assert sw(card, "00 87 0C 9B 14 7C 12 82 10" + cipher_hex) == 0x9000
    assert sw(card, "00 47 00 9A 05 AC 03 80 01 11 00") == 0x9000


def test_external_authentication_with_a_wrong_cryptogram() -> None:
    card = _card_with(ManagementKeyAlgorithm.TDES, DEFAULT_3DES_KEY, bytes(8))
    assert sw(card, "00 87 03 9B 04 7C 02 81 00") == 0x9000
    assert sw(card, "00 87 03 9B 0C 7C 0A 82 08 00 00 00 00 00 00 00 00") == 0x6982


def test_internal_authentication_proves_the_card_key_without_granting_admin() -> None:
    key_hex, plain_hex, cipher_hex = KNOWN_ANSWERS[ManagementKeyAlgorithm.AES128]
    card = _card_with(ManagementKeyAlgorithm.AES128, bytes.fromhex(key_hex), bytes(16))
    data, status = send(card, "00 87 08 9B 16 7C 14 81 10" + plain_hex + "82 00")
    assert (data, status) == (bytes.fromhex("7C 12 82 10" + cipher_hex), 0x9000)
    assert sw(card, "00 47 00 9A 05 AC 03 80 01 11 00") == 0x6982


@pytest.mark.parametrize(
    ("apdu", "expected"),
    [
        ("00 87 08 9B 04 7C 02 80 00", 0x6A80),  # P1 says AES-128, the key is 3DES
        ("00 87 03 9B 04 7D 02 80 00", 0x6A80),  # not a 7C template
        ("00 87 03 9B 04 7C 02 83 00", 0x6A80),  # a tag 7C does not know
        ("00 87 03 9B 06 7C 04 80 00 80 00", 0x6A80),  # the same tag twice
        ("00 87 03 9B 04 7C 05 80 00", 0x6A80),  # length beyond the data
        ("00 87 03 9B 00", 0x6A80),  # no data
        ("00 87 03 42 04 7C 02 80 00", 0x6A86),  # not a key reference
        ("00 87 11 9A 08 7C 06 82 00 81 02 AB CD", 0x6A88),  # no key in 9A
    ],
)
def test_malformed_general_authenticate(
    emulator: PivCardEmulator, apdu: str, expected: int
) -> None:
    assert sw(emulator, apdu) == expected


def test_asymmetric_key_checks(emulator: PivCardEmulator) -> None:
    authenticate_3des(emulator, DEFAULT_3DES_KEY)
    assert sw(emulator, "00 47 00 9A 05 AC 03 80 01 11 00") == 0x9000
    digest = "AB" * 32
    sign = f"00 87 11 9A 26 7C 24 82 00 81 20 {digest} 00"
    assert sw(emulator, sign) == 0x6982  # 9A needs the PIN
    assert sw(emulator, VERIFY_123456) == 0x9000
    assert sw(emulator, sign.replace("00 87 11", "00 87 14", 1)) == 0x6A80  # P-384 ≠ the key
    assert sw(emulator, f"00 87 11 9A 47 7C 45 82 00 81 41 {'AB' * 65} 00") == 0x6A80  # too long
    data, status = send(emulator, sign)
    assert status == 0x9000
    assert data[0] == 0x7C
    assert data[data.index(0x82) + 2] == 0x30  # DER SEQUENCE { r, s }
    assert sw(emulator, "00 87 11 9A 0A 7C 08 82 00 85 04 04 01 02 03 00") == 0x6A80  # bad point
