"""The vpcd socket protocol (vsmartcard `vpcd.c`; piv-brief §1).

Every message, both ways, is a 2-byte big-endian length then the payload. A 1-byte payload from
vpcd is a control byte: 00 power off, 01 power on, 02 reset (none answered), 04 "send the ATR"
(answered with the ATR). Any longer payload is a command APDU, answered with one response APDU.
TCP delivers bytes, not messages: `MessageReader` reassembles them whatever the reads' sizes.
"""

from __future__ import annotations

import struct
from enum import IntEnum

MAX_PAYLOAD = 0xFFFF
_LENGTH = struct.Struct("!H")


class Control(IntEnum):
    POWER_OFF = 0x00
    POWER_ON = 0x01
    RESET = 0x02
    GET_ATR = 0x04


def frame(payload: bytes) -> bytes:
    """Length-prefix a payload. vpcd treats an empty reply as a dead card, so none is sent."""
    if not 0 < len(payload) <= MAX_PAYLOAD:
        msg = f"a vpcd message carries 1 to {MAX_PAYLOAD} bytes, not {len(payload)}"
        raise ValueError(msg)
    return _LENGTH.pack(len(payload)) + payload


class MessageReader:
    """Feed it bytes as they arrive; it returns the complete messages among them."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        self._buffer += data
        messages = []
        while len(self._buffer) >= _LENGTH.size:
            (length,) = _LENGTH.unpack_from(self._buffer)
            end = _LENGTH.size + length
            if len(self._buffer) < end:
                break
            messages.append(bytes(self._buffer[_LENGTH.size : end]))
            del self._buffer[:end]
        return messages

    @property
    def pending(self) -> int:
        """Bytes of an incomplete message waiting for the rest."""
        return len(self._buffer)
