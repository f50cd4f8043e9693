"""The bridge against a stand-in for vpcd: a TCP server speaking vpcd's protocol, feeding bytes
in awkward pieces, dropping the connection and coming back, as pcscd does when it restarts."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from cardedge.emulator import DEFAULT_ATR, PivCardEmulator
from cardedge.vpcd import VpcdBridge, frame
from tests.cardedge.vpcd.fake_vpcd import FakeVpcd


@pytest.fixture
def vpcd() -> Iterator[FakeVpcd]:
    fake = FakeVpcd()
    yield fake
    fake.close()


@pytest.fixture
def bridge(vpcd: FakeVpcd) -> Iterator[VpcdBridge]:
    bridge = VpcdBridge(PivCardEmulator(), "127.0.0.1", vpcd.port, reconnect_delay=0.05)
    thread = threading.Thread(target=bridge.serve_forever, daemon=True)
    thread.start()
    yield bridge
    bridge.stop()
    thread.join(5)
    assert not thread.is_alive()


def test_atr_control_bytes_and_apdus(vpcd: FakeVpcd, bridge: VpcdBridge) -> None:
    vpcd.accept()
    assert vpcd.exchange(b"\x04") == DEFAULT_ATR
    vpcd.send_slowly(b"\x01")  # power on: no answer expected
    assert vpcd.exchange(bytes.fromhex("00 20 00 80 08 31 32 33 34 35 36 FF FF")) == b"\x90\x00"
    assert vpcd.exchange(bytes.fromhex("00 20 00 80")) == b"\x90\x00"
    vpcd.send_slowly(b"\x02")  # warm reset: the PIN is forgotten
    vpcd.send_slowly(b"\x7f")  # an unknown control byte is ignored
    assert vpcd.exchange(bytes.fromhex("00 20 00 80")) == b"\x63\xc3"
    vpcd.send_slowly(bytes.fromhex("00 20 00 80 08 31 32 33 34 35 36 FF FF"))
    assert vpcd.receive() == b"\x90\x00"
    vpcd.send_slowly(b"\x00")  # power off
    assert vpcd.exchange(bytes.fromhex("00 20 00 80")) == b"\x63\xc3"


def test_two_messages_in_one_segment(vpcd: FakeVpcd, bridge: VpcdBridge) -> None:
    vpcd.accept()
    assert vpcd.connection is not None
    vpcd.connection.sendall(frame(b"\x04") + frame(bytes.fromhex("00 FD 00 00")))
    assert vpcd.receive() == DEFAULT_ATR
    assert vpcd.receive() == bytes.fromhex("05 04 03 90 00")


def test_reconnects_after_vpcd_goes_away(vpcd: FakeVpcd, bridge: VpcdBridge) -> None:
    vpcd.accept()
    assert vpcd.exchange(bytes.fromhex("00 20 00 80 08 31 32 33 34 35 36 FF FF")) == b"\x90\x00"
    vpcd.drop()  # pcscd stopped: the card is "removed"
    vpcd.accept()  # and it comes back: the bridge inserts the card again
    assert vpcd.exchange(bytes.fromhex("00 20 00 80")) == b"\x63\xc3"  # powered off in between
    assert bridge.connections == 2


def test_waits_for_vpcd_then_stops_promptly() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens there
    bridge = VpcdBridge(
        PivCardEmulator(), "127.0.0.1", port, reconnect_delay=0.05, max_reconnect_delay=5
    )
    thread = threading.Thread(target=bridge.serve_forever, daemon=True)
    thread.start()
    time.sleep(0.5)  # several refused connections, back-off growing
    started = time.monotonic()
    bridge.stop()
    thread.join(5)
    assert not thread.is_alive()
    assert time.monotonic() - started < 1.0
    assert bridge.connections == 0
