"""Thousands of random and mutated APDUs: the card never raises, answers each malformed class with
its ISO 7816-4 status word and no data (never 6F00), stays consistent, and a correct command
afterwards still works.

Three tests x 150 examples x up to 25 APDUs (about 6,700 APDUs a run), some on a fresh card,
some on a card where the management key and the PIN have been presented (so that PUT DATA,
GENERATE, IMPORT, SET MANAGEMENT KEY, RESET… are reached too). Keys come from a pool so that
RSA key generation does not dominate the run.
"""

from __future__ import annotations

import itertools

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cardedge.apdu.status import is_valid_status_word
from cardedge.emulator import CardState, FactorySettings, PivCardEmulator
from cardedge.piv import Pin, PivClient
from cardedge.piv.algorithms import PrivateKey, curve_for
from cardedge.piv.constants import KeyAlgorithm
from cardedge.piv.secrets import ManagementKey, unpad_reference_data
from cardedge.transports.emulated import EmulatedTransport

_RSA_POOL = [rsa.generate_private_key(65537, 2048) for _ in range(2)]
_rsa_cycle = itertools.cycle(_RSA_POOL)


def _pooled_keys(algorithm: KeyAlgorithm) -> PrivateKey:
    if algorithm.is_rsa:
        return next(_rsa_cycle)
    return ec.generate_private_key(curve_for(algorithm))


_PEER_POINT = (
    ec.generate_private_key(ec.SECP256R1())
    .public_key()
    .public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    .hex()
)

CORPUS = [
    bytes.fromhex(apdu)
    for apdu in [
        "00 A4 04 00 09 A0 00 00 03 08 00 00 10 00 00",
        "00 A4 04 0C 05 A0 00 00 03 08",
        "00 CB 3F FF 03 5C 01 7E 00",
        "00 CB 3F FF 05 5C 03 5F C1 02 00",
        "00 CB 3F FF 05 5C 03 5F C1 09",
        "00 DB 3F FF 0B 5C 03 5F C1 02 53 04 34 02 AB CD",
        "10 DB 3F FF 08 5C 03 5F C1 05 53 82 01",
        "00 DB 3F FF 05 5C 01 7E 7E 00",
        "00 20 00 80",
        "00 20 00 80 08 31 32 33 34 35 36 FF FF",
        "00 20 00 80 08 39 39 39 39 39 39 FF FF",
        "00 20 FF 80",
        "00 24 00 80 10 31 32 33 34 35 36 FF FF 36 35 34 33 32 31 FF FF",
        "00 24 00 81 10 31 32 33 34 35 36 37 38 38 37 36 35 34 33 32 31",
        "00 2C 00 80 10 31 32 33 34 35 36 37 38 31 32 33 34 35 36 FF FF",
        "00 87 03 9B 04 7C 02 80 00",
        "00 87 00 9B 04 7C 02 81 00",
        "00 87 03 9B 16 7C 14 80 08 00 00 00 00 00 00 00 00 81 08 01 02 03 04 05 06 07 08",
        "00 87 03 9B 0C 7C 0A 82 08 00 00 00 00 00 00 00 00",
        "00 47 00 9A 05 AC 03 80 01 11 00",
        "00 47 00 9C 05 AC 03 80 01 14 00",
        "00 47 00 9D 05 AC 03 80 01 07 00",
        "00 47 00 9E 0B AC 09 80 01 11 AA 01 01 AB 01 01 00",
        "00 87 11 9A 26 7C 24 82 00 81 20 " + "5A" * 32 + " 00",
        "00 87 14 9C 36 7C 34 82 00 81 30 " + "5A" * 48 + " 00",
        "10 87 07 9D FF 7C 82 01 06 82 00 81 82 01 00 " + "00 01" + "FF" * 243,
        f"00 87 11 9E 47 7C 45 82 00 85 41 {_PEER_POINT} 00",
        "00 C0 00 00 00",
        "00 FD 00 00",
        "00 F8 00 00",
        "00 F7 00 9A",
        "00 F7 00 9B",
        "00 F7 00 80",
        "00 FF FF FF 13 08 9B 10 " + "42" * 16,
        "00 FE 11 82 22 06 20 " + "11" * 32,
        "00 FA 05 05",
        "00 FB 00 00",
        "00 F9 9A 00",
    ]
]


@st.composite
def mutated_apdus(draw: st.DrawFn) -> bytes:
    apdu = bytearray(draw(st.sampled_from(CORPUS)))
    for _ in range(draw(st.integers(1, 3))):
        operation = draw(st.sampled_from(["byte", "truncate", "extend", "header", "lc", "cla"]))
        if operation == "byte" and apdu:
            apdu[draw(st.integers(0, len(apdu) - 1))] = draw(st.integers(0, 255))
        elif operation == "truncate":
            apdu = apdu[: draw(st.integers(0, len(apdu)))]
        elif operation == "extend":
            apdu += draw(st.binary(min_size=1, max_size=40))
        elif operation == "header" and len(apdu) >= 4:
            apdu[draw(st.integers(2, 3))] = draw(st.integers(0, 255))
        elif operation == "lc" and len(apdu) >= 5:
            apdu[4] = draw(st.integers(0, 255))
        elif operation == "cla" and apdu:
            apdu[0] = draw(st.sampled_from([0x00, 0x10, 0x0C, 0x01, 0x80, 0xFF]))
    return bytes(apdu)


@st.composite
def structured_apdus(draw: st.DrawFn) -> bytes:
    """Well-framed APDUs with PIV instructions and arbitrary parameters and data."""
    header = bytes(
        [
            draw(st.sampled_from([0x00, 0x10])),
            draw(
                st.sampled_from(
                    [0x20, 0x24, 0x2C, 0x47, 0x87, 0xA4, 0xC0, 0xCB, 0xDB, *range(0xF7, 0x100)]
                )
            ),
            draw(st.integers(0, 255)),
            draw(st.integers(0, 255)),
        ]
    )
    data = draw(st.binary(max_size=255))
    body = bytes([len(data)]) + data if data else b""
    le = draw(st.one_of(st.none(), st.integers(0, 255)))
    return header + body + (bytes([le]) if le is not None else b"")


ANY_APDU = st.one_of(st.binary(max_size=300), mutated_apdus(), structured_apdus())


def _fresh_card() -> PivCardEmulator:
    return PivCardEmulator(factory=FactorySettings(serial=424242), generate_key=_pooled_keys)


def _authenticated_card() -> PivCardEmulator:
    card = _fresh_card()
    client = PivClient.connect(EmulatedTransport(card))
    client.authenticate(card._state.management_key)  # tests may look inside the card
    client.verify_pin(Pin("123456"))
    return card


# What the card must answer before any handler runs, from the APDU alone (ISO/IEC 7816-4 §5.1,
# SP 800-73-4 Part 2 §3; the emulator's dispatch in cardedge/emulator/card.py).
WRONG_LENGTH, WRONG_P1_P2, NOT_FOUND, INCORRECT_DATA = 0x6700, 0x6A86, 0x6A82, 0x6A80
INS_NOT_SUPPORTED, CLA_NOT_SUPPORTED = 0x6D00, 0x6E00
LOGICAL_CHANNEL_NOT_SUPPORTED, SECURE_MESSAGING_NOT_SUPPORTED = 0x6881, 0x6882
CHAINING_NOT_SUPPORTED, LAST_OF_CHAIN_EXPECTED, NOT_ENOUGH_MEMORY = 0x6884, 0x6883, 0x6A84
# Internal error and memory failure: the card's last line of defence; a fuzzed APDU must never
# reach them on a card that keeps its state in memory.
NEVER = {0x6F00, 0x6581}
INSTRUCTIONS = {0x20, 0x24, 0x2C, 0x47, 0x87, 0xA4, 0xCB, 0xDB}
INSTRUCTIONS |= {0xFD, 0xF8, 0xF7, 0xFF, 0xFE, 0xFA, 0xFB, 0xF9}  # Yubico extensions
CHAINABLE = {0xDB, 0x87, 0xFE, 0x47}  # PUT DATA, GENERAL AUTHENTICATE, IMPORT, GENERATE
OBJECT_P1P2 = (0x3F, 0xFF)  # GET DATA and PUT DATA


def _is_framed(apdu: bytes) -> bool:
    """A short APDU: header, then nothing, Le, Lc+data or Lc+data+Le (Lc 00 is extended)."""
    if len(apdu) < 4:
        return False
    body = apdu[4:]
    if len(body) <= 1:
        return True
    return body[0] != 0 and len(body) in (1 + body[0], 2 + body[0])


def _expected_status(apdu: bytes) -> int | None:
    """The one status word the APDU must get whatever the card's state, or None if that
    depends on the state (then the answer only has to be well formed)."""
    if not _is_framed(apdu):
        return WRONG_LENGTH
    cla, ins, p1, p2 = apdu[:4]
    if cla & ~0x10 & 0xFF:
        if cla & 0x80:
            return CLA_NOT_SUPPORTED
        if cla & 0x03:
            return LOGICAL_CHANNEL_NOT_SUPPORTED
        if cla & 0x0C:
            return SECURE_MESSAGING_NOT_SUPPORTED
        return CLA_NOT_SUPPORTED
    chained = bool(cla & 0x10)
    if ins == 0xC0 and not chained:
        return WRONG_P1_P2 if (p1, p2) != (0, 0) else None
    if chained:
        return None if ins in CHAINABLE else CHAINING_NOT_SUPPORTED
    if ins not in INSTRUCTIONS:
        return INS_NOT_SUPPORTED
    if ins in (0xCB, 0xDB) and (p1, p2) != OBJECT_P1P2:
        return WRONG_P1_P2
    return None


def _check_answer(apdu: bytes, response: bytes) -> None:
    """The full answer: the status word the APDU class must get, and data only with success."""
    assert len(response) >= 2
    sw = int.from_bytes(response[-2:], "big")
    assert is_valid_status_word(sw), f"{sw:04X}"
    assert sw not in NEVER, f"{apdu.hex(' ')} -> {sw:04X}"
    expected = _expected_status(apdu)
    if expected is not None:
        assert sw == expected, f"{apdu.hex(' ')} -> {sw:04X}, not {expected:04X}"
    if len(apdu) >= 4 and apdu[0] == 0x10 and expected is None:  # one part of a chain
        assert sw in (0x9000, LAST_OF_CHAIN_EXPECTED, NOT_ENOUGH_MEMORY), f"{sw:04X}"
        assert response == response[-2:], "a chain part is acknowledged without data"
    if sw != 0x9000 and sw >> 8 != 0x61:
        assert response == response[-2:], "an error status carries no data"


def _send_all(card: PivCardEmulator, apdus: list[bytes]) -> None:
    for apdu in apdus:
        _check_answer(apdu, card.process(apdu))


def _assert_consistent_and_working(card: PivCardEmulator) -> None:
    state = card._state
    for reference in (state.pin, state.puk):
        assert 0 <= reference.retries_left <= reference.retry_limit <= 255
    assert CardState.from_dict(state.to_dict()).to_dict() == state.to_dict()
    # a correct command still works: SELECT, then whatever the card's current secrets allow
    client = PivClient(EmulatedTransport(card))
    client.transport.connect()
    properties = client.select()
    assert properties.aid == bytes.fromhex("000010000100")
    status = client.pin_status()
    assert not status.verified
    assert status.blocked == state.pin.blocked
    if not state.pin.blocked:
        client.verify_pin(Pin(unpad_reference_data(state.pin.value.reveal()).decode()))
        assert client.pin_status().verified
    key: ManagementKey = state.management_key
    client.authenticate(key)
    client.generate_key(0x82, KeyAlgorithm.ECC_P256)  # type: ignore[arg-type]


FUZZ_SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.mark.slow
@FUZZ_SETTINGS
@given(apdus=st.lists(ANY_APDU, min_size=1, max_size=25))
def test_random_apdus_on_a_fresh_card(apdus: list[bytes]) -> None:
    card = _fresh_card()
    _send_all(card, apdus)
    _assert_consistent_and_working(card)


@pytest.mark.slow
@FUZZ_SETTINGS
@given(apdus=st.lists(ANY_APDU, min_size=1, max_size=25))
def test_random_apdus_with_management_key_and_pin_presented(apdus: list[bytes]) -> None:
    card = _authenticated_card()
    _send_all(card, apdus)
    _assert_consistent_and_working(card)


@pytest.mark.slow
@FUZZ_SETTINGS
@given(apdus=st.lists(mutated_apdus(), min_size=1, max_size=25), power_cycle=st.booleans())
def test_mutations_of_valid_commands(apdus: list[bytes], power_cycle: bool) -> None:
    card = _authenticated_card()
    _send_all(card, apdus)
    if power_cycle:
        card.power_off()
        card.power_on()
    _assert_consistent_and_working(card)


@pytest.mark.parametrize("apdu", CORPUS, ids=lambda a: a[:4].hex())
def test_every_corpus_command_is_understood(apdu: bytes) -> None:
    """The corpus is meaningful: each command, alone on a prepared card, is not rejected as
    malformed (6700/6D00/6E00), so mutations start from commands the card really parses."""
    card = _authenticated_card()
    sw = int.from_bytes(card.process(apdu)[-2:], "big")
    assert sw not in (0x6700, 0x6D00, 0x6E00)


MALFORMED = {
    "header cut short": ("00 A4 04", WRONG_LENGTH),
    "Lc longer than the data": ("00 CB 3F FF 05 5C 03 5F C1", WRONG_LENGTH),
    "Lc shorter than the data": ("00 CB 3F FF 02 5C 03 5F C1 02", WRONG_LENGTH),
    "extended length": ("00 CB 3F FF 00 00 05 5C 03 5F C1 02", WRONG_LENGTH),
    "proprietary class": ("80 CB 3F FF 05 5C 03 5F C1 02 00", CLA_NOT_SUPPORTED),
    "logical channel": ("01 CB 3F FF 05 5C 03 5F C1 02 00", LOGICAL_CHANNEL_NOT_SUPPORTED),
    "secure messaging": ("0C CB 3F FF 05 5C 03 5F C1 02 00", SECURE_MESSAGING_NOT_SUPPORTED),
    "unknown instruction": ("00 B0 00 00 00", INS_NOT_SUPPORTED),
    "GET DATA, wrong P1 P2": ("00 CB 3F FE 05 5C 03 5F C1 02 00", WRONG_P1_P2),
    "PUT DATA, wrong P1 P2": ("00 DB 00 00 08 5C 03 5F C1 02 53 01 00", WRONG_P1_P2),
    "GET RESPONSE, wrong P1 P2": ("00 C0 01 00 00", WRONG_P1_P2),
    "VERIFY, wrong P1": ("00 20 01 80", WRONG_P1_P2),
    "SELECT, wrong P2": ("00 A4 04 01 05 A0 00 00 03 08", WRONG_P1_P2),
    "SELECT, unknown application": ("00 A4 04 00 05 A0 00 00 00 99", NOT_FOUND),
    "GET DATA, object never written": ("00 CB 3F FF 05 5C 03 5F C1 0A 00", NOT_FOUND),
    "GET DATA without a tag list": ("00 CB 3F FF", INCORRECT_DATA),
    "GET DATA, tag list cut short": ("00 CB 3F FF 03 5C 05 7E", INCORRECT_DATA),
    "chaining an unchainable instruction": ("10 20 00 80 02 31 32", CHAINING_NOT_SUPPORTED),
}


@pytest.mark.parametrize(("apdu", "sw"), MALFORMED.values(), ids=MALFORMED.keys())
def test_each_malformed_class_gets_its_status_word_and_no_data(apdu: str, sw: int) -> None:
    card = _authenticated_card()
    assert card.process(bytes.fromhex(apdu)) == sw.to_bytes(2, "big")
    _assert_consistent_and_working(card)
