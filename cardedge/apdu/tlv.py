"""BER-TLV as smart cards use it (ISO/IEC 7816-4 §5.2, ISO/IEC 8825-1 §8.1).

Tags are kept as integers of their encoded bytes (`0x5FC102` is `5F C1 02`, `0x7F49` is `7F 49`).
Lengths are definite: one byte up to 127, then `81 xx`, `82 xx xx`, `83 xx xx xx`. Values are not
decoded automatically: PIV puts raw bytes under tags whose "constructed" bit is set (the FASC-N
sits under `30`), so a caller asks for `children()` only where a template is expected.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cardedge.apdu.errors import TlvError

MAX_TAG_BYTES = 3  # ISO/IEC 7816-4 §5.2.2.1: tag fields of one, two or three bytes
MAX_LENGTH_BYTES = 3  # 83 xx xx xx: 16 MiB, far beyond any card object


@dataclass(frozen=True, slots=True, repr=False)
class Tlv:
    tag: int
    value: bytes

    @property
    def is_constructed(self) -> bool:
        """b6 of the first tag byte (ISO/IEC 8825-1 §8.1.2.5)."""
        return bool(encode_tag(self.tag)[0] & 0x20)

    def encode(self) -> bytes:
        return encode_tlv(self.tag, self.value)

    def children(self) -> list[Tlv]:
        """The value decoded as a sequence of TLVs (for templates such as 7C, 7F49, AC, 53)."""
        return decode_all(self.value)

    def __repr__(self) -> str:
        return f"Tlv(tag={self.tag:X}, {len(self.value)} bytes)"


def encode_tag(tag: int) -> bytes:
    if tag <= 0 or tag > 0xFFFFFF:
        msg = f"tag {tag:#x} is out of range"
        raise TlvError(msg)
    raw = tag.to_bytes((tag.bit_length() + 7) // 8, "big")
    _check_tag_bytes(raw)
    return raw


def _check_tag_bytes(raw: bytes) -> None:
    first = raw[0]
    if first in (0x00, 0xFF):
        msg = f"{first:02X} is not a valid first tag byte (padding)"
        raise TlvError(msg)
    multi = (first & 0x1F) == 0x1F
    if not multi and len(raw) > 1:
        msg = f"tag {raw.hex().upper()}: the first byte announces a one-byte tag"
        raise TlvError(msg)
    for i, byte in enumerate(raw[1:], start=1):
        last = i == len(raw) - 1
        if bool(byte & 0x80) == last:
            msg = f"tag {raw.hex().upper()}: b8 of each subsequent byte marks continuation"
            raise TlvError(msg)


def encode_length(length: int) -> bytes:
    if length < 0:
        msg = "a length cannot be negative"
        raise TlvError(msg)
    if length < 0x80:
        return bytes([length])
    size = (length.bit_length() + 7) // 8
    if size > MAX_LENGTH_BYTES:
        msg = f"length {length} does not fit in {MAX_LENGTH_BYTES} bytes"
        raise TlvError(msg)
    return bytes([0x80 | size]) + length.to_bytes(size, "big")


def encode_tlv(tag: int, value: bytes | Iterable[bytes] = b"") -> bytes:
    """`tag || length || value`; an iterable of byte strings is concatenated (nested templates)."""
    body = value if isinstance(value, bytes | bytearray) else b"".join(value)
    return encode_tag(tag) + encode_length(len(body)) + bytes(body)


def decode_tag(data: bytes, offset: int = 0) -> tuple[int, int]:
    """Decode the tag at `offset`; returns (tag, offset after the tag)."""
    if offset >= len(data):
        msg = "data ends where a tag was expected"
        raise TlvError(msg)
    end = offset + 1
    if (data[offset] & 0x1F) == 0x1F:
        while True:
            if end >= len(data):
                msg = "data ends inside a multi-byte tag"
                raise TlvError(msg)
            end += 1
            if not data[end - 1] & 0x80:
                break
            if end - offset >= MAX_TAG_BYTES:
                msg = f"tags longer than {MAX_TAG_BYTES} bytes are not supported"
                raise TlvError(msg)
    raw = bytes(data[offset:end])
    _check_tag_bytes(raw)
    return int.from_bytes(raw, "big"), end


def decode_length(data: bytes, offset: int) -> tuple[int, int]:
    """Decode the length at `offset`; returns (length, offset after the length field)."""
    if offset >= len(data):
        msg = "data ends where a length was expected"
        raise TlvError(msg)
    first = data[offset]
    if first < 0x80:
        return first, offset + 1
    size = first & 0x7F
    if size == 0:
        msg = "indefinite lengths (80) are not allowed in card data"
        raise TlvError(msg)
    if size > MAX_LENGTH_BYTES:
        msg = f"a length field of {size} bytes is not supported"
        raise TlvError(msg)
    if offset + 1 + size > len(data):
        msg = "data ends inside a length field"
        raise TlvError(msg)
    return int.from_bytes(data[offset + 1 : offset + 1 + size], "big"), offset + 1 + size


def decode_one(data: bytes, offset: int = 0) -> tuple[Tlv, int]:
    """Decode one TLV at `offset`; returns (tlv, offset after it)."""
    tag, offset = decode_tag(data, offset)
    length, offset = decode_length(data, offset)
    end = offset + length
    if end > len(data):
        msg = f"tag {tag:X} announces {length} bytes but only {len(data) - offset} follow"
        raise TlvError(msg)
    return Tlv(tag, bytes(data[offset:end])), end


def decode_all(data: bytes) -> list[Tlv]:
    """Decode a sequence of TLVs that fills `data` exactly."""
    items: list[Tlv] = []
    offset = 0
    while offset < len(data):
        item, offset = decode_one(data, offset)
        items.append(item)
    return items


def decode_single(data: bytes, *, tag: int | None = None) -> Tlv:
    """Decode exactly one TLV filling `data` (optionally with an expected tag)."""
    item, end = decode_one(data)
    if end != len(data):
        msg = f"{len(data) - end} bytes follow the {item.tag:X} object"
        raise TlvError(msg)
    if tag is not None and item.tag != tag:
        msg = f"expected tag {tag:X}, found {item.tag:X}"
        raise TlvError(msg)
    return item


def first(items: Iterable[Tlv], tag: int) -> Tlv | None:
    """The first TLV with `tag`, or None."""
    return next((item for item in items if item.tag == tag), None)


def unique_map(items: Iterable[Tlv]) -> dict[int, bytes]:
    """Tag → value, refusing duplicate tags (templates such as 7C allow each tag once)."""
    result: dict[int, bytes] = {}
    for item in items:
        if item.tag in result:
            msg = f"tag {item.tag:X} appears twice"
            raise TlvError(msg)
        result[item.tag] = item.value
    return result
