"""SELECT, class and instruction checks, malformed APDUs (ISO/IEC 7816-4; piv-brief §§3-4, 11)."""

from __future__ import annotations

import pytest

from cardedge.emulator import PivCardEmulator
from tests.cardedge.emulator.apdus import SELECT_PIV, VERIFY_123456, send, sw

APT = (
    "61 3A 4F 06 00 00 10 00 01 00 79 07 4F 05 A0 00 00 03 08 50 0D"
    + b"CardForge PIV".hex()
    + "AC 18 80 01 03 80 01 08 80 01 0A 80 01 0C 80 01 07 80 01 11 80 01 14 06 01 00"
)


@pytest.mark.parametrize(
    "apdu",
    [
        SELECT_PIV,  # OpenSC: 9-byte prefix with Le
        "00 A4 04 00 05 A0 00 00 03 08",  # libykpiv: 5-byte RID, no Le
        "00 A4 04 00 0B A0 00 00 03 08 00 00 10 00 01 00 00",  # the full AID
    ],
    ids=["opensc", "libykpiv", "full-aid"],
)
def test_select_piv_returns_the_apt(emulator: PivCardEmulator, apdu: str) -> None:
    assert send(emulator, apdu) == (bytes.fromhex(APT), 0x9000)


def test_select_without_response_data(emulator: PivCardEmulator) -> None:
    assert send(emulator, "00 A4 04 0C 05 A0 00 00 03 08") == (b"", 0x9000)


@pytest.mark.parametrize(
    "apdu",
    [
        "00 A4 04 00 07 62 76 01 FF 00 00 00",  # probes OpenSC's other drivers send (piv-brief §6)
        "00 A4 04 00 06 A0 00 00 00 01 01",
        "00 A4 04 00 0B E8 2B 06 01 04 01 81 C3 1F 02 01 00",
        "00 A4 04 0C 0F D2 33 00 00 00 45 73 74 45 49 44 20 76 33 35",
        "00 A4 04 00 04 A0 00 00 03",  # shorter than the RID
        "00 A4 04 00 0C A0 00 00 03 08 00 00 10 00 01 00 01",  # longer than the AID
        "00 A4 00 00 02 3F 00 00",  # select MF by file ID
    ],
)
def test_foreign_selects_get_6a82_and_piv_stays_selected(
    emulator: PivCardEmulator, apdu: str
) -> None:
    assert sw(emulator, VERIFY_123456) == 0x9000
    assert sw(emulator, apdu) == 0x6A82
    assert sw(emulator, "00 20 00 80 00") == 0x9000  # security status untouched
    data, status = send(emulator, "00 CB 3F FF 03 5C 01 7E 00")
    assert status == 0x9000
    assert data.startswith(bytes.fromhex("7E 12 4F 0B A0 00 00 03 08 00 00 10 00 01 00"))


def test_selecting_piv_again_resets_the_security_status(emulator: PivCardEmulator) -> None:
    assert sw(emulator, VERIFY_123456) == 0x9000
    assert sw(emulator, SELECT_PIV) == 0x9000
    assert sw(emulator, "00 20 00 80 00") == 0x63C3


@pytest.mark.parametrize(
    ("apdu", "expected"),
    [
        ("", 0x6700),
        ("00", 0x6700),
        ("00 CB 3F", 0x6700),
        ("00 CB 3F FF 05 5C 03 5F C1", 0x6700),  # Lc longer than the data
        ("00 CB 3F FF 02 5C 03 5F C1 02 00", 0x6700),  # Lc shorter than the data
        ("00 CB 3F FF 00 00 05 5C 03 5F C1 02", 0x6700),  # extended length
        ("80 CB 3F FF 03 5C 01 7E", 0x6E00),  # proprietary class
        ("01 CB 3F FF 03 5C 01 7E", 0x6881),  # logical channel 1
        ("0C CB 3F FF 03 5C 01 7E", 0x6882),  # secure messaging
        ("00 84 00 00 08", 0x6D00),  # GET CHALLENGE: not a PIV command
        ("00 CA DF 30 05", 0x6D00),  # OpenSC's probe (piv-brief §11)
        ("00 A4 04 02 05 A0 00 00 03 08", 0x6A86),  # SELECT next occurrence
        ("00 A4 05 00 05 A0 00 00 03 08", 0x6A86),
    ],
)
def test_malformed_and_unsupported_commands(
    emulator: PivCardEmulator, apdu: str, expected: int
) -> None:
    assert sw(emulator, apdu) == expected


def test_yubico_version_and_serial(emulator: PivCardEmulator) -> None:
    assert send(emulator, "00 FD 00 00 00") == (bytes([5, 4, 3]), 0x9000)
    assert send(emulator, "00 F8 00 00") == ((12345678).to_bytes(4, "big"), 0x9000)


def test_a_plain_piv_card_has_no_yubico_instructions() -> None:
    card = PivCardEmulator(yubico_extensions=False)
    for ins in ("FD", "F8", "F7", "FF", "FE", "FA", "FB", "F9"):
        assert sw(card, f"00 {ins} 00 00") == 0x6D00
    assert sw(card, SELECT_PIV) == 0x9000
