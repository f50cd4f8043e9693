"""The in-process transport and the transport registry."""

from __future__ import annotations

import pytest

from cardedge.emulator import DEFAULT_ATR, PivCardEmulator
from cardedge.piv import Pin, PivClient
from cardedge.transports import NotConnected, open_transport, transport_class
from cardedge.transports.emulated import EMULATED_READER_NAME, EmulatedTransport
from cardedge.transports.pcsc import PcscTransport, matching_readers


def test_transmit_needs_a_connection() -> None:
    transport = EmulatedTransport()
    with pytest.raises(NotConnected):
        transport.transmit(bytes.fromhex("00 FD 00 00"))
    with pytest.raises(NotConnected):
        _ = transport.identity
    identity = transport.connect()
    assert (identity.reader, identity.atr) == (EMULATED_READER_NAME, DEFAULT_ATR)
    assert transport.transmit(bytes.fromhex("00 FD 00 00"))[-2:] == b"\x90\x00"


def test_disconnect_resets_unless_told_otherwise() -> None:
    card = PivCardEmulator()
    with EmulatedTransport(card) as transport:
        PivClient.connect(transport).verify_pin(Pin("123456"))
        transport.disconnect(reset=False)
        transport.connect()
        assert PivClient(transport).pin_status().verified  # left as it was
    with EmulatedTransport(card) as transport:  # the context manager disconnected with reset
        assert not PivClient(transport).pin_status().verified


def test_registry_aliases_and_paths() -> None:
    assert transport_class("emulated") is EmulatedTransport
    assert transport_class("pcsc") is PcscTransport
    assert transport_class("cardedge.transports.emulated.EmulatedTransport") is EmulatedTransport
    transport = open_transport("pcsc", reader="Virtual PCD")
    assert isinstance(transport, PcscTransport)
    assert transport.reader == "Virtual PCD"
    for wrong in ("smoke-signals", "cardedge.piv.client.PivClient", "os.path"):
        with pytest.raises(ValueError, match="transport"):
            transport_class(wrong)


def test_reader_matching() -> None:
    import re

    readers = ["Yubico YubiKey OTP+FIDO+CCID 00 00", "Virtual PCD 00 00", "Virtual PCD 00 01"]
    assert matching_readers(readers, "Virtual PCD 00 01") == ["Virtual PCD 00 01"]
    assert matching_readers(readers, "virtual pcd") == ["Virtual PCD 00 00", "Virtual PCD 00 01"]
    assert matching_readers(readers, re.compile(r"YubiKey.*CCID")) == [readers[0]]
    assert matching_readers(readers, None) == readers
    assert matching_readers(readers, "Gemalto") == []
