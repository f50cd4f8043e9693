"""Persistent state: what survives a new process, what a failing store or a bug leaves behind."""

from __future__ import annotations

import json
import logging
import stat
from pathlib import Path
from typing import Any

import pytest

from cardedge.emulator import (
    CardState,
    CardStateError,
    CardStorageError,
    FactorySettings,
    FileCardStore,
    MemoryCardStore,
    PivCardEmulator,
)
from cardedge.piv.constants import KeyAlgorithm
from tests.cardedge.emulator.apdus import DEFAULT_3DES_KEY, VERIFY_123456, send, sw
from tests.cardedge.emulator.test_general_authenticate import authenticate_3des

WRONG_PIN = "00 20 00 80 08 39 39 39 39 39 39 FF FF"
PUT_CHUID = "00 DB 3F FF 0B 5C 03 5F C1 02 53 04 34 02 AB CD"


def test_a_new_card_is_saved_at_once_with_private_permissions(tmp_path: Path) -> None:
    path = tmp_path / "card.json"
    card = PivCardEmulator(FileCardStore(path), factory=FactorySettings(serial=777))
    assert card.serial == 777
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text())["serial"] == 777


def test_everything_persistent_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "card.json"
    card = PivCardEmulator(FileCardStore(path))
    authenticate_3des(card, DEFAULT_3DES_KEY)
    assert sw(card, PUT_CHUID) == 0x9000
    generated, status = send(card, "00 47 00 9A 05 AC 03 80 01 11 00")
    assert status == 0x9000
    assert sw(card, "00 FF FF FF 1B 0A 9B 18" + "42" * 24) == 0x9000  # new AES-192 key
    assert sw(card, WRONG_PIN) == 0x63C2

    again = PivCardEmulator(FileCardStore(path))
    assert again.serial == card.serial
    assert sw(again, "00 20 00 80") == 0x63C2  # the wrong try still counts
    assert send(again, "00 CB 3F FF 05 5C 03 5F C1 02 00") == (
        bytes.fromhex("53 04 34 02 AB CD"),
        0x9000,
    )
    metadata, status = send(again, "00 F7 00 9A")
    assert status == 0x9000
    assert generated[5:] in metadata  # the same public key (86 41 04…)
    assert send(again, "00 F7 00 9B")[0].startswith(bytes.fromhex("01 01 0A"))
    assert sw(again, "00 20 00 80") == 0x63C2  # volatile state did not survive: not verified


def test_commands_that_change_nothing_are_not_saved() -> None:
    store = MemoryCardStore()
    card = PivCardEmulator(store)
    saves = store.saves
    for apdu in ("00 CB 3F FF 03 5C 01 7E 00", "00 FD 00 00", "00 20 00 80", "00 F7 00 80"):
        sw(card, apdu)
    assert store.saves == saves
    assert sw(card, WRONG_PIN) == 0x63C2
    assert store.saves == saves + 1  # counted before the comparison


class _BrokenStore(MemoryCardStore):
    broken = False

    def save(self, state: dict[str, Any]) -> None:
        if self.broken:
            msg = "disk full"
            raise CardStorageError(msg)
        super().save(state)


def test_a_failing_store_answers_6581_and_keeps_the_old_state() -> None:
    store = _BrokenStore()
    card = PivCardEmulator(store)
    authenticate_3des(card, DEFAULT_3DES_KEY)
    store.broken = True
    assert sw(card, PUT_CHUID) == 0x6581
    store.broken = False
    assert sw(card, "00 CB 3F FF 05 5C 03 5F C1 02 00") == 0x6A82  # not written
    assert sw(card, PUT_CHUID) == 0x6982  # and the failed command left no admin status behind
    authenticate_3des(card, DEFAULT_3DES_KEY)
    assert sw(card, PUT_CHUID) == 0x9000


def test_a_failing_store_is_no_pin_oracle() -> None:
    """Right or wrong, a PIN try the card cannot count gets the same 65 81."""
    store = _BrokenStore()
    card = PivCardEmulator(store)
    store.broken = True
    assert sw(card, WRONG_PIN) == 0x6581
    assert sw(card, VERIFY_123456) == 0x6581
    assert sw(card, "00 20 00 80") == 0x63C3  # nothing was counted, nothing was verified
    store.broken = False
    assert sw(card, VERIFY_123456) == 0x9000


def test_an_unforeseen_error_answers_6f00_rolls_back_and_logs_no_data(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken_generator(algorithm: KeyAlgorithm) -> object:
        msg = "entropy source exploded"
        raise RuntimeError(msg)

    card = PivCardEmulator(generate_key=broken_generator)  # type: ignore[arg-type]
    authenticate_3des(card, DEFAULT_3DES_KEY)
    with caplog.at_level(logging.ERROR):
        assert sw(card, "00 47 00 9A 05 AC 03 80 01 11 00") == 0x6F00
    assert "internal error on INS 47" in caplog.text  # the instruction, no APDU data
    assert sw(card, "00 F7 00 9A") == 0x6A88  # no half-made key
    assert sw(card, VERIFY_123456) == 0x9000  # and the card carries on


def test_state_round_trips_through_json() -> None:
    card = PivCardEmulator()
    authenticate_3des(card, DEFAULT_3DES_KEY)
    sw(card, "00 47 00 9D 05 AC 03 80 01 14 00")
    sw(card, PUT_CHUID)
    store = MemoryCardStore()
    store.save(card._state.to_dict())
    loaded = CardState.from_dict(store.load())
    assert loaded.to_dict() == card._state.to_dict()


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda d: d.update(format="something/else"), "not an emulated card state"),
        (lambda d: d["pin"].update(retries_left=9), "at PIN"),
        (lambda d: d["keys"].update({"9A": {"algorithm": 17}}), "at key 9A"),
        (lambda d: d["objects"].update({"5FC102": "not base64!"}), "at objects"),
        (lambda d: d.pop("management_key"), "'management_key'"),
    ],
)
def test_corrupt_state_is_refused_with_a_clear_message(
    tmp_path: Path, mutate: Any, fragment: str
) -> None:
    path = tmp_path / "card.json"
    PivCardEmulator(FileCardStore(path))
    data = json.loads(path.read_text())
    mutate(data)
    path.write_text(json.dumps(data))
    with pytest.raises(CardStateError, match=fragment) as caught:
        PivCardEmulator(FileCardStore(path))
    assert "313233343536" not in str(caught.value)  # never the PIN


def test_a_state_file_that_is_not_json(tmp_path: Path) -> None:
    path = tmp_path / "card.json"
    path.write_text("{ half")
    with pytest.raises(CardStateError, match="not JSON"):
        PivCardEmulator(FileCardStore(path))
