"""Response APDUs (ISO/IEC 7816-4 §5.1): response data followed by SW1 SW2."""

from __future__ import annotations

from dataclasses import dataclass

from cardedge.apdu.errors import MalformedApdu
from cardedge.apdu.status import StatusWord, describe


@dataclass(frozen=True, slots=True, repr=False)
class ResponseApdu:
    """Response data and status word. The repr hides the data (it may be key material)."""

    data: bytes
    sw: int

    def __post_init__(self) -> None:
        if not 0 <= self.sw <= 0xFFFF:
            msg = f"a status word is two bytes, not {self.sw}"
            raise MalformedApdu(msg)

    @classmethod
    def from_bytes(cls, raw: bytes) -> ResponseApdu:
        if len(raw) < 2:
            msg = f"a response APDU ends with SW1 SW2; got {len(raw)} bytes"
            raise MalformedApdu(msg)
        return cls(data=bytes(raw[:-2]), sw=(raw[-2] << 8) | raw[-1])

    @classmethod
    def status(cls, sw: int) -> ResponseApdu:
        return cls(data=b"", sw=int(sw))

    def to_bytes(self) -> bytes:
        return self.data + self.sw.to_bytes(2, "big")

    @property
    def sw1(self) -> int:
        return self.sw >> 8

    @property
    def sw2(self) -> int:
        return self.sw & 0xFF

    @property
    def is_success(self) -> bool:
        return self.sw == StatusWord.SUCCESS

    def __repr__(self) -> str:
        return f"ResponseApdu(sw={describe(self.sw)!r}, {len(self.data)} data bytes)"
