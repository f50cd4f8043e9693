"""vpcd framing: 2-byte big-endian length + payload, reassembled whatever the TCP reads."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cardedge.vpcd import MessageReader, frame, parse_address


def test_frame() -> None:
    assert frame(b"\x04") == b"\x00\x01\x04"
    assert frame(bytes(300))[:2] == b"\x01\x2c"
    for bad in (b"", bytes(0x10000)):
        with pytest.raises(ValueError, match="1 to 65535"):
            frame(bad)


def test_messages_split_and_joined_anyhow() -> None:
    reader = MessageReader()
    stream = frame(b"\x04") + frame(bytes.fromhex("00 A4 04 00 05 A0 00 00 03 08")) + frame(b"\x01")
    messages = []
    for byte in stream:  # one byte at a time
        messages += reader.feed(bytes([byte]))
    assert messages == [b"\x04", bytes.fromhex("00 A4 04 00 05 A0 00 00 03 08"), b"\x01"]
    assert reader.pending == 0
    assert MessageReader().feed(stream) == messages  # all at once


@given(
    payloads=st.lists(st.binary(min_size=1, max_size=600), max_size=8),
    cuts=st.lists(st.integers(1, 50)),
)
def test_any_chunking_gives_the_same_messages(payloads: list[bytes], cuts: list[int]) -> None:
    stream = b"".join(frame(payload) for payload in payloads)
    reader, messages, offset = MessageReader(), [], 0
    for size in cuts:
        messages += reader.feed(stream[offset : offset + size])
        offset += size
    messages += reader.feed(stream[offset:])
    assert messages == payloads


@pytest.mark.parametrize(
    ("text", "expected"),
    [("127.0.0.1:35963", ("127.0.0.1", 35963)), ("[::1]:35964", ("::1", 35964))],
)
def test_parse_address(text: str, expected: tuple[str, int]) -> None:
    assert parse_address(text) == expected


@pytest.mark.parametrize(
    "text", ["35963", "localhost", "host:", ":35963", "host:0", "host:70000", "host:http"]
)
def test_parse_address_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="HOST:PORT"):
        parse_address(text)
