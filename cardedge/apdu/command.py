"""Command APDUs (ISO/IEC 7816-4 §5.1): header, body, and the short encoding PIV uses.

PIV middleware (OpenSC's PIV driver, libykpiv) only sends short APDUs: Lc ≤ 255, Le ≤ 256, longer
data goes through command chaining (see `channel.py`). Extended lengths are therefore rejected.
"""

from __future__ import annotations

from dataclasses import dataclass

from cardedge.apdu.errors import MalformedApdu

MAX_SHORT_DATA = 255
MAX_SHORT_LE = 256
CLA_CHAINING = 0x10  # ISO/IEC 7816-4 §5.4.1: b5 of CLA set = "more commands of this chain follow"


@dataclass(frozen=True, slots=True, repr=False)
class CommandApdu:
    """One command APDU. `le` is None when absent, else 1-256 (256 is encoded as `00`).

    The repr shows the header and lengths only: command data may be a PIN or key material.
    """

    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes = b""
    le: int | None = None

    def __post_init__(self) -> None:
        for name in ("cla", "ins", "p1", "p2"):
            value = getattr(self, name)
            if not 0 <= value <= 0xFF:
                msg = f"{name.upper()} must be one byte, not {value}"
                raise MalformedApdu(msg)
        if len(self.data) > MAX_SHORT_DATA:
            msg = f"command data of {len(self.data)} bytes needs chaining (short APDUs carry 255)"
            raise MalformedApdu(msg)
        if self.le is not None and not 1 <= self.le <= MAX_SHORT_LE:
            msg = f"Le must be 1-256 or absent, not {self.le}"
            raise MalformedApdu(msg)

    @property
    def header(self) -> bytes:
        return bytes((self.cla, self.ins, self.p1, self.p2))

    @property
    def is_chained(self) -> bool:
        """True for every part of a chain except the last (CLA b5 set)."""
        return bool(self.cla & CLA_CHAINING)

    def to_bytes(self) -> bytes:
        """Short encoding: case 1 (header), 2 (Le), 3 (Lc data) or 4 (Lc data Le)."""
        out = bytearray(self.header)
        if self.data:
            out.append(len(self.data))
            out += self.data
        if self.le is not None:
            out.append(self.le & 0xFF)  # 256 is sent as 00
        return bytes(out)

    @classmethod
    def from_bytes(cls, raw: bytes) -> CommandApdu:
        """Parse a short command APDU; raises MalformedApdu (a card answers `6700`)."""
        if len(raw) < 4:
            msg = f"a command APDU has at least 4 header bytes, got {len(raw)}"
            raise MalformedApdu(msg)
        cla, ins, p1, p2 = raw[0], raw[1], raw[2], raw[3]
        body = raw[4:]
        if not body:
            return cls(cla, ins, p1, p2)
        if len(body) == 1:  # case 2: Le only; 00 means 256
            return cls(cla, ins, p1, p2, le=body[0] or MAX_SHORT_LE)
        lc = body[0]
        if lc == 0:
            msg = "extended-length APDUs are not supported"
            raise MalformedApdu(msg)
        if len(body) == 1 + lc:  # case 3
            return cls(cla, ins, p1, p2, data=bytes(body[1:]))
        if len(body) == 2 + lc:  # case 4
            return cls(cla, ins, p1, p2, data=bytes(body[1 : 1 + lc]), le=body[-1] or MAX_SHORT_LE)
        msg = f"Lc says {lc} data bytes but the body has {len(body) - 1}"
        raise MalformedApdu(msg)

    def __repr__(self) -> str:
        parts = [f"{self.cla:02X} {self.ins:02X} {self.p1:02X} {self.p2:02X}"]
        if self.data:
            parts.append(f"lc={len(self.data)}")
        if self.le is not None:
            parts.append(f"le={self.le}")
        return f"CommandApdu({', '.join(parts)})"
