"""GET DATA / PUT DATA at the APDU level (SP 800-73-4 Part 2 §§3.1.2, 3.3.2; piv-brief §5)."""

from __future__ import annotations

import pytest

from cardedge.emulator import PivCardEmulator
from tests.cardedge.emulator.apdus import DEFAULT_3DES_KEY, VERIFY_123456, send, sw
from tests.cardedge.emulator.test_general_authenticate import authenticate_3des

CHUID_CONTENTS = (
    "30 19 D4 E7 39 DA 73 9C ED 39 CE 73 9D 83 68 58 21 08 42 10 84 21 C8 42 10 C3 EB 34 10 "
    + "11" * 16
    + " 35 08 32 30 33 30 30 31 30 31 3E 00 FE 00"
)


def _put_chuid(card: PivCardEmulator) -> bytes:
    body = bytes.fromhex("5C 03 5F C1 02 53 3B " + CHUID_CONTENTS)
    assert sw(card, bytes([0x00, 0xDB, 0x3F, 0xFF, len(body)]) + body) == 0x9000
    return body[5:]


def test_put_data_needs_the_management_key(emulator: PivCardEmulator) -> None:
    body = bytes.fromhex("5C 03 5F C1 02 53 3B " + CHUID_CONTENTS)
    assert sw(emulator, bytes([0x00, 0xDB, 0x3F, 0xFF, len(body)]) + body) == 0x6982
    assert sw(emulator, VERIFY_123456) == 0x9000  # the PIN is not enough
    assert sw(emulator, bytes([0x00, 0xDB, 0x3F, 0xFF, len(body)]) + body) == 0x6982


def test_objects_read_back_exactly_as_written_whatever_le(emulator: PivCardEmulator) -> None:
    authenticate_3des(emulator, DEFAULT_3DES_KEY)
    stored = _put_chuid(emulator)
    assert send(emulator, "00 CB 3F FF 05 5C 03 5F C1 02 00") == (stored, 0x9000)
    assert send(emulator, "00 CB 3F FF 05 5C 03 5F C1 02") == (stored, 0x9000)  # libykpiv: no Le
    assert send(emulator, "00 CB 3F FF 05 5C 03 5F C1 02 08") == (stored, 0x9000)  # OpenSC's probe


def test_an_empty_object_deletes(emulator: PivCardEmulator) -> None:
    authenticate_3des(emulator, DEFAULT_3DES_KEY)
    _put_chuid(emulator)
    assert sw(emulator, "00 DB 3F FF 07 5C 03 5F C1 02 53 00") == 0x9000
    assert sw(emulator, "00 CB 3F FF 05 5C 03 5F C1 02 00") == 0x6A82
    assert sw(emulator, "00 DB 3F FF 07 5C 03 5F C1 02 53 00") == 0x9000  # already gone: fine


@pytest.mark.parametrize(
    ("apdu", "expected"),
    [
        ("00 DB 3F FE 07 5C 03 5F C1 02 53 00", 0x6A86),
        ("00 DB 3F FF 07 5D 03 5F C1 02 53 00", 0x6A80),  # not a tag list
        ("00 DB 3F FF 07 5C 03 5F C1 02 53 01", 0x6A80),  # object shorter than announced
        ("00 DB 3F FF 09 5C 03 5F C1 02 53 00 FF FF", 0x6A80),  # trailing bytes
        ("00 DB 3F FF 07 5C 03 5F C1 02 7E 00", 0x6A80),  # CHUID must be 53-wrapped
        ("00 DB 3F FF 05 5C 01 7E 53 00", 0x6A80),  # discovery must be 7E
        ("00 DB 3F FF 07 5C 03 5F C0 01 53 00", 0x6A80),  # not a PIV object
        ("00 DB 3F FF 08 5C 04 5F C1 02 00 53 00", 0x6A80),  # tag list of four bytes
    ],
)
def test_malformed_put_data(emulator: PivCardEmulator, apdu: str, expected: int) -> None:
    authenticate_3des(emulator, DEFAULT_3DES_KEY)
    assert sw(emulator, apdu) == expected


@pytest.mark.parametrize(
    ("apdu", "expected"),
    [
        ("00 CB 3F FF 05 5C 03 5F C1 02 00", 0x6A82),  # not written yet
        ("00 CB 3F FF 05 5C 03 5F C1 09 00", 0x6982),  # printed information: PIN first
        ("00 CB 3F FF 05 5C 03 5F C1 08 00", 0x6982),  # facial image: PIN first
        ("00 CB 3F 00 03 5C 01 7E 00", 0x6A86),
        ("00 CB 3F FF 03 5D 01 7E 00", 0x6A80),
        ("00 CB 3F FF 02 5C 00 00", 0x6A80),
        ("00 CB 3F FF", 0x6A80),
        ("00 CB 3F FF 05 5C 03 5F C1 02 00 00", 0x6700),
    ],
)
def test_get_data_errors(emulator: PivCardEmulator, apdu: str, expected: int) -> None:
    assert sw(emulator, apdu) == expected


def test_objects_beyond_the_size_limit(emulator: PivCardEmulator) -> None:
    authenticate_3des(emulator, DEFAULT_3DES_KEY)
    contents = bytes(17 * 1024)
    body = bytes.fromhex("5C 03 5F C1 08 53 83") + len(contents).to_bytes(3, "big") + contents
    answers = []
    for offset in range(0, len(body), 255):
        part = body[offset : offset + 255]
        cla = 0x10 if offset + 255 < len(body) else 0x00
        answers.append(sw(emulator, bytes([cla, 0xDB, 0x3F, 0xFF, len(part)]) + part))
        if answers[-1] != 0x9000:
            break
    assert answers[-1] == 0x6A84
    assert sw(emulator, VERIFY_123456) == 0x9000
    assert sw(emulator, "00 CB 3F FF 05 5C 03 5F C1 08 00") == 0x6A82
