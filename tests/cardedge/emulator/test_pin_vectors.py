"""VERIFY / CHANGE REFERENCE DATA / RESET RETRY COUNTER at the APDU level (piv-brief §6)."""

from __future__ import annotations

import pytest

from cardedge.emulator import FactorySettings, PivCardEmulator
from tests.cardedge.emulator.apdus import VERIFY_123456, sw

WRONG_PIN = "00 20 00 80 08 39 39 39 39 39 39 FF FF"
PUK_12345678 = "31 32 33 34 35 36 37 38"


def test_retry_counter_vector(emulator: PivCardEmulator) -> None:
    assert [sw(emulator, apdu) for apdu in ["00 20 00 80", "00 20 00 80 00"]] == [0x63C3, 0x63C3]
    assert [sw(emulator, WRONG_PIN) for _ in range(4)] == [0x63C2, 0x63C1, 0x63C0, 0x6983]
    assert sw(emulator, VERIFY_123456) == 0x6983
    assert sw(emulator, "00 20 00 80") == 0x6983


def test_status_logout_and_reset(emulator: PivCardEmulator) -> None:
    assert sw(emulator, VERIFY_123456) == 0x9000
    assert sw(emulator, "00 20 00 80") == 0x9000
    assert sw(emulator, "00 20 FF 80") == 0x9000  # logout (SP 800-73-4 Part 2 §3.2.1)
    assert sw(emulator, "00 20 00 80") == 0x63C3
    assert sw(emulator, VERIFY_123456) == 0x9000
    emulator.reset()
    assert sw(emulator, "00 20 00 80") == 0x63C3


def test_a_wrong_pin_drops_an_earlier_verification(emulator: PivCardEmulator) -> None:
    assert sw(emulator, VERIFY_123456) == 0x9000
    assert sw(emulator, WRONG_PIN) == 0x63C2
    assert sw(emulator, "00 20 00 80") == 0x63C2


@pytest.mark.parametrize(
    "apdu",
    [
        "00 20 00 80 08 31 32 33 34 35 FF FF FF",  # five digits
        "00 20 00 80 08 31 32 33 34 35 36 37 41",  # a letter
        "00 20 00 80 08 31 32 33 FF 35 36 FF FF",  # padding in the middle
        "00 20 00 80 06 31 32 33 34 35 36",  # not padded to 8
        "00 20 FF 80 08 31 32 33 34 35 36 FF FF",  # logout with data
    ],
)
def test_malformed_pins_are_refused_without_costing_a_try(
    emulator: PivCardEmulator, apdu: str
) -> None:
    assert sw(emulator, apdu) == 0x6A80
    assert sw(emulator, "00 20 00 80") == 0x63C3


@pytest.mark.parametrize(
    ("apdu", "expected"),
    [
        ("00 20 00 00 08 31 32 33 34 35 36 FF FF", 0x6A88),  # global PIN: not on this card
        ("00 20 00 81 08 31 32 33 34 35 36 37 38", 0x6A88),  # the PUK is not verified alone
        ("00 20 01 80 08 31 32 33 34 35 36 FF FF", 0x6A86),
        ("00 24 00 82 10" + "31" * 16, 0x6A88),
        ("00 24 01 80 10" + "31" * 16, 0x6A86),
        ("00 2C 00 81 10" + "31" * 16, 0x6A88),  # only the PIN is reset
        ("00 24 00 80 08 31 32 33 34 35 36 FF FF", 0x6A80),  # CRD needs old and new
    ],
)
def test_wrong_references_and_parameters(
    emulator: PivCardEmulator, apdu: str, expected: int
) -> None:
    assert sw(emulator, apdu) == expected


def test_change_pin_vector(emulator: PivCardEmulator) -> None:
    new = "37 37 37 37 37 37 37 37"
    assert sw(emulator, f"00 24 00 80 10 39 39 39 39 39 39 FF FF {new}") == 0x63C2
    assert sw(emulator, f"00 24 00 80 10 31 32 33 34 35 36 FF FF {new}") == 0x9000
    assert sw(emulator, "00 20 00 80") == 0x63C3  # a good try restores the counter
    assert sw(emulator, f"00 20 00 80 08 {new}") == 0x9000
    assert sw(emulator, "00 24 00 80 10 " + new + " 31 32 33 FF FF FF FF FF") == 0x6A80


def test_reset_retry_counter_vector(emulator: PivCardEmulator) -> None:
    for _ in range(3):
        sw(emulator, WRONG_PIN)
    wrong_puk = "00 2C 00 80 10 38 38 38 38 38 38 38 38 34 34 34 34 34 34 FF FF"
    assert sw(emulator, wrong_puk) == 0x63C2
    assert sw(emulator, f"00 2C 00 80 10 {PUK_12345678} 34 34 34 34 34 34 FF FF") == 0x9000
    assert sw(emulator, "00 20 00 80") == 0x63C3
    assert sw(emulator, "00 20 00 80 08 34 34 34 34 34 34 FF FF") == 0x9000
    assert [sw(emulator, wrong_puk) for _ in range(4)] == [0x63C2, 0x63C1, 0x63C0, 0x6983]


def test_configured_factory_values_and_retry_limits() -> None:
    from cardedge.piv import Pin, Puk

    card = PivCardEmulator(
        factory=FactorySettings(pin=Pin("24682468"), puk=Puk("97531975"), pin_retries=5)
    )
    assert sw(card, "00 20 00 80") == 0x63C5
    assert sw(card, VERIFY_123456) == 0x63C4
    assert sw(card, "00 20 00 80 08 32 34 36 38 32 34 36 38") == 0x9000
    assert sw(card, "00 24 00 81 10 39 37 35 33 31 39 37 35 39 37 35 33 31 39 37 35") == 0x9000


def test_retry_counts_above_fifteen_show_as_fifteen() -> None:
    card = PivCardEmulator(factory=FactorySettings(pin_retries=20))
    assert sw(card, "00 20 00 80") == 0x63CF
    assert sw(card, WRONG_PIN) == 0x63CF  # 19 left, shown as 15 (one nibble)
