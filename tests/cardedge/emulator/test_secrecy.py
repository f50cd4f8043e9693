"""Secrets never show: reprs, log lines (even at DEBUG), error messages (THREATS.md)."""

from __future__ import annotations

import logging

import pytest

from cardedge.apdu import CommandApdu, ResponseApdu
from cardedge.emulator import CardState, FactorySettings, PivCardEmulator
from cardedge.piv import (
    ManagementKey,
    ManagementKeyAlgorithm,
    Pin,
    PivClient,
    Puk,
    Slot,
    WrongPin,
)
from cardedge.piv.constants import KeyAlgorithm
from cardedge.transports.emulated import EmulatedTransport

PIN_TEXT, PUK_TEXT = "271828", "31415926"
KEY = ManagementKey(
    ManagementKeyAlgorithm.AES128, bytes.fromhex("C0FFEE00112233445566778899AABBCC")
)


def _forbidden() -> list[str]:
    return [
        PIN_TEXT,
        PUK_TEXT,
        PIN_TEXT.encode().hex(),
        PUK_TEXT.encode().hex(),
        KEY.reveal().hex(),
    ]


def test_secret_types_hide_their_value() -> None:
    for secret in (Pin(PIN_TEXT), Puk(PUK_TEXT), KEY):
        for shown in (repr(secret), str(secret), f"{secret}", f"{secret!r}"):
            assert not any(value in shown.lower() for value in _forbidden())
    assert repr(KEY) == "ManagementKey(AES128, <hidden>)"
    assert Pin(PIN_TEXT) == Pin(PIN_TEXT)
    assert Pin(PIN_TEXT) != Pin("000000")


def test_secrets_refuse_to_be_pickled() -> None:
    import pickle

    with pytest.raises(TypeError):
        pickle.dumps(Pin(PIN_TEXT))
    with pytest.raises(TypeError):
        pickle.dumps(KEY)


def test_apdu_reprs_show_no_data() -> None:
    command = CommandApdu(0x00, 0x20, 0x00, 0x80, Pin(PIN_TEXT).padded)
    assert repr(command) == "CommandApdu(00 20 00 80, lc=8)"
    response = ResponseApdu(KEY.reveal(), 0x9000)
    assert KEY.reveal().hex() not in repr(response).lower()


def test_card_state_repr_hides_everything() -> None:
    state = CardState.new(FactorySettings(pin=Pin(PIN_TEXT), puk=Puk(PUK_TEXT), management_key=KEY))
    shown = repr(state) + repr(state.pin) + repr(state.factory)
    assert not any(value in shown.lower() for value in _forbidden())


def test_a_whole_session_logs_no_secret(caplog: pytest.LogCaptureFixture) -> None:
    card = PivCardEmulator(
        factory=FactorySettings(pin=Pin(PIN_TEXT), puk=Puk(PUK_TEXT), management_key=KEY)
    )
    with caplog.at_level(logging.DEBUG):
        client = PivClient.connect(EmulatedTransport(card))
        client.authenticate(KEY)
        client.generate_key(Slot.PIV_AUTHENTICATION, KeyAlgorithm.ECC_P256)
        client.change_pin(Pin(PIN_TEXT), Pin("135790"))
        client.change_puk(Puk(PUK_TEXT), Puk("24680246"))
        client.verify_pin(Pin("135790"))
        client.sign(Slot.PIV_AUTHENTICATION, b"data", algorithm=KeyAlgorithm.ECC_P256)
        with pytest.raises(WrongPin) as caught:
            client.verify_pin(Pin(PIN_TEXT))
    text = caplog.text.lower() + str(caught.value).lower()
    assert "command(20 00 80, lc=8) -> 63c2" in text  # the log did record the session
    forbidden = [*_forbidden(), "135790", "24680246", b"135790".hex(), b"24680246".hex()]
    assert not any(value in text for value in forbidden)
