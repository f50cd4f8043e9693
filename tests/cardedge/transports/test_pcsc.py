"""The PC/SC transport against a real (private) pcscd: reader choice and the errors a station
operator must be able to tell apart."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

from cardedge.piv import PivClient
from cardedge.transports import (
    CardRemoved,
    NoCardInReader,
    PcscUnavailable,
    ReaderBusy,
    ReaderNotFound,
)
from cardedge.transports.pcsc import PcscTransport, list_readers
from cardedge.vpcd.protocol import Control, MessageReader, frame
from tests.cardedge.pcsc_harness import REPO_ROOT, PcscCardHarness

pytestmark = pytest.mark.pcsc


def test_readers_and_selection_by_name_or_pattern(pcsc_harness: PcscCardHarness) -> None:
    first, second = pcsc_harness.pcscd.reader_name(0), pcsc_harness.pcscd.reader_name(1)
    assert {first, second} <= set(list_readers())
    for selector in (first, "virtual pcd", re.compile(r"Virtual PCD cf[0-9a-f]+ 00 00")):
        transport = PcscTransport(selector)
        identity = transport.connect()
        try:
            assert identity.reader == first  # the one holding a card
            assert identity.atr == bytes.fromhex("3B 95 13 81 01 80 73 FF 01 00 0B")
            assert PivClient.connect(transport).get_version() == (5, 4, 3)
        finally:
            transport.disconnect()


def test_no_matching_reader_names_the_readers_there_are(pcsc_harness: PcscCardHarness) -> None:
    with pytest.raises(ReaderNotFound) as caught:
        PcscTransport("Gemalto PC Twin").connect()
    assert pcsc_harness.reader_name in str(caught.value)


def test_a_reader_without_a_card(pcsc_harness: PcscCardHarness) -> None:
    with pytest.raises(NoCardInReader, match="00 01"):
        PcscTransport(pcsc_harness.pcscd.reader_name(1)).connect()


def test_exclusive_use_keeps_others_out(pcsc_harness: PcscCardHarness) -> None:
    holder = PcscTransport(pcsc_harness.reader_name, exclusive=True)
    holder.connect()
    try:
        with pytest.raises(ReaderBusy):
            PcscTransport(pcsc_harness.reader_name).connect()
    finally:
        holder.disconnect()


def test_pcscd_not_running() -> None:
    """In a separate process: libpcsclite reads PCSCLITE_CSOCK_NAME once per process."""
    code = (
        "from cardedge.transports.pcsc import PcscTransport\n"
        "from cardedge.transports import PcscUnavailable\n"
        "try:\n"
        "    PcscTransport('Virtual PCD').connect()\n"
        "except PcscUnavailable as exc:\n"
        "    print('PcscUnavailable', hex(exc.hresult & 0xFFFFFFFF), exc)\n"
    )
    env = {**os.environ, "PCSCLITE_CSOCK_NAME": "/nonexistent/pcscd.comm"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.stdout.startswith("PcscUnavailable 0x8010001d"), result.stdout + result.stderr
    assert "pcscd is not running" in result.stdout
    assert PcscUnavailable.__name__ in result.stdout


@pytest.fixture
def card_that_vanishes(pcsc_harness: PcscCardHarness) -> Iterator[str]:
    """A card in reader 00 01 that is pulled out as soon as it receives an APDU."""
    host, port = pcsc_harness.pcscd.vpcd_address(1).split(":")
    connection = socket.create_connection((host, int(port)))

    def serve() -> None:
        reader = MessageReader()
        with connection:
            while data := connection.recv(4096):
                for message in reader.feed(data):
                    if message == bytes([Control.GET_ATR]):
                        connection.sendall(frame(bytes.fromhex("3B 95 13 81 01 80 73 FF 01 00 0B")))
                    elif len(message) > 1:
                        return  # an APDU: the card leaves without answering

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    pcsc_harness.pcscd.wait_for_card(1)
    yield pcsc_harness.pcscd.reader_name(1)
    connection.close()
    thread.join(5)
    pcsc_harness.pcscd.wait_for_card(1, present=False)


def test_a_card_removed_in_the_middle_of_a_command(card_that_vanishes: str) -> None:
    transport = PcscTransport(card_that_vanishes)
    transport.connect()
    try:
        with pytest.raises(CardRemoved, match="removed during a command"):
            transport.transmit(bytes.fromhex("00 A4 04 00 05 A0 00 00 03 08"))
    finally:
        transport.disconnect()
