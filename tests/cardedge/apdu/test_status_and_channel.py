"""Status word names and the channel's chaining, against the emulator and a scripted card."""

from __future__ import annotations

import pytest

from cardedge.apdu import ApduChannel, CardProtocolError, CommandApdu, StatusWord, describe
from cardedge.apdu.status import (
    correct_le,
    is_valid_status_word,
    more_data_available,
    retries_left,
)
from cardedge.emulator import PivCardEmulator
from cardedge.piv.secrets import default_management_key
from cardedge.transports.emulated import EmulatedTransport


@pytest.mark.parametrize(
    ("sw", "text"),
    [
        (0x9000, "9000 success"),
        (0x6A82, "6A82 file, data object or application not found"),
        (0x6982, "6982 security status not satisfied"),
        (0x63C2, "63C2 verification failed, 2 tries left"),
        (0x63C1, "63C1 verification failed, 1 try left"),
        (0x6100, "6100 256 more bytes available"),
        (0x6C10, "6C10 wrong Le, 16 bytes available"),
        (0x6FAA, "6FAA unknown status"),
    ],
)
def test_describe(sw: int, text: str) -> None:
    assert describe(sw) == text


def test_status_families() -> None:
    assert (
        more_data_available(0x6110),
        more_data_available(0x6100),
        more_data_available(0x9000),
    ) == (16, 256, None)
    assert (retries_left(0x63C0), retries_left(0x63CF), retries_left(0x6300)) == (0, 15, None)
    assert (correct_le(0x6C08), correct_le(0x6A82)) == (8, None)
    assert is_valid_status_word(StatusWord.SUCCESS)
    assert not is_valid_status_word(0x6000)
    assert not is_valid_status_word(0x1234)


class _TapTransport(EmulatedTransport):
    """The emulated transport, recording each APDU it carries."""

    def __init__(self) -> None:
        super().__init__(PivCardEmulator())
        self.sent: list[bytes] = []

    def transmit(self, apdu: bytes) -> bytes:
        self.sent.append(apdu)
        return super().transmit(apdu)


def test_long_data_is_chained_in_255_byte_parts() -> None:
    from cardedge.piv import PivClient

    transport = _TapTransport()
    client = PivClient.connect(transport)
    client.authenticate(default_management_key())
    transport.sent.clear()
    before = client.apdu_count
    client.put_object(0x5FC108, bytes(600))
    headers = [apdu[:5] for apdu in transport.sent]
    # 5C 03 5F C1 08 + 53 82 02 58 + 600 bytes = 609 = 255 + 255 + 99 (0x63)
    assert headers == [bytes.fromhex("10 DB 3F FF FF")] * 2 + [bytes.fromhex("00 DB 3F FF 63")]
    assert client.apdu_count - before == 3


class _ScriptedCard:
    """Answers from a script: for what real cards do and the emulator never does (6Cxx, junk)."""

    atr = bytes.fromhex("3B 00")

    def __init__(self, answers: list[str]) -> None:
        self.answers = [bytes.fromhex(answer) for answer in answers]
        self.received: list[bytes] = []

    def power_on(self) -> None: ...
    def power_off(self) -> None: ...
    def reset(self) -> None: ...

    def process(self, apdu: bytes) -> bytes:
        self.received.append(apdu)
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


def _channel(card: _ScriptedCard) -> ApduChannel:
    transport = EmulatedTransport(card)
    transport.connect()
    return ApduChannel(transport)


def test_wrong_le_is_resent_with_the_card_s_length() -> None:
    card = _ScriptedCard(["6C 02", "AB CD 90 00"])
    response = _channel(card).send(0xCA, 0x00, 0x66, le=256)
    assert (response.data, response.sw) == (b"\xab\xcd", 0x9000)
    assert card.received == [bytes.fromhex("00 CA 00 66 00"), bytes.fromhex("00 CA 00 66 02")]


def test_more_data_is_fetched_with_get_response() -> None:
    card = _ScriptedCard(["01 02 61 02", "03 04 90 00"])
    response = _channel(card).send(0xCB, 0x3F, 0xFF, b"\x5c\x01\x7e", le=256)
    assert (response.data, response.sw) == (b"\x01\x02\x03\x04", 0x9000)
    assert card.received[1] == bytes.fromhex("00 C0 00 00 02")


def test_a_refused_chain_part_stops_the_chain() -> None:
    card = _ScriptedCard(["6A 84"])
    response = _channel(card).send(0xDB, 0x3F, 0xFF, bytes(600))
    assert response.sw == 0x6A84
    assert len(card.received) == 1


def test_a_card_that_never_stops_sending_is_cut_off() -> None:
    card = _ScriptedCard([("00" * 256) + " 61 00"])
    with pytest.raises(CardProtocolError):
        _channel(card).send(0xCB, 0x3F, 0xFF, b"\x5c\x01\x7e", le=256)


def test_a_response_without_status_word() -> None:
    card = _ScriptedCard(["90"])
    with pytest.raises(CardProtocolError):
        _channel(card).send(0xFD, 0x00, 0x00)


def test_command_objects_are_plain_values() -> None:
    assert CommandApdu(0, 0xFD, 0, 0).header == bytes.fromhex("00 FD 00 00")
