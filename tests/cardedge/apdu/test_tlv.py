"""BER-TLV (ISO/IEC 7816-4 §5.2): long lengths, multi-byte tags, nesting, and refusal of junk."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cardedge.apdu import Tlv, TlvError, decode_all, decode_one, decode_single, encode_tlv
from cardedge.apdu.tlv import encode_length, unique_map


@pytest.mark.parametrize(
    ("length", "encoded"),
    [
        (0, "00"),
        (127, "7F"),
        (128, "81 80"),
        (255, "81 FF"),
        (256, "82 01 00"),
        (65535, "82 FF FF"),
        (65536, "83 01 00 00"),
    ],
)
def test_length_encodings(length: int, encoded: str) -> None:
    assert encode_length(length) == bytes.fromhex(encoded)


def test_multi_byte_tags_and_nesting() -> None:
    # GENERATE's response template: 7F49 { 86 point }
    point = bytes([0x04]) + bytes(64)
    encoded = encode_tlv(0x7F49, encode_tlv(0x86, point))
    assert encoded[:5] == bytes.fromhex("7F 49 43 86 41")
    outer = decode_single(encoded, tag=0x7F49)
    assert outer.is_constructed
    assert outer.children() == [Tlv(0x86, point)]
    assert encode_tlv(0x5FC102, b"")[:4] == bytes.fromhex("5F C1 02 00")
    assert decode_one(bytes.fromhex("5F C1 02 01 AA FF"))[0] == Tlv(0x5FC102, b"\xaa")


def test_a_long_value_uses_a_long_length() -> None:
    value = bytes(300)
    encoded = encode_tlv(0x53, value)
    assert encoded[:4] == bytes.fromhex("53 82 01 2C")
    assert decode_single(encoded).value == value


def test_template_from_parts() -> None:
    assert encode_tlv(0x7C, [encode_tlv(0x82, b""), encode_tlv(0x81, b"\x01")]) == bytes.fromhex(
        "7C 05 82 00 81 01 01"
    )


@pytest.mark.parametrize(
    "raw",
    [
        "53",  # no length
        "53 05 01 02",  # value shorter than announced
        "53 80 00 00",  # indefinite length
        "53 84 00 00 00 01 00",  # four length bytes
        "53 82 01",  # truncated length
        "5F",  # truncated tag
        "5F C1",  # tag without its last byte
        "00 01 00",  # 00 is padding, not a tag
        "FF 01 00",
        "1F 81 81 81 01 00",  # four-byte tag
    ],
)
def test_malformed_tlv_is_refused(raw: str) -> None:
    with pytest.raises(TlvError):
        decode_all(bytes.fromhex(raw))


def test_single_refuses_trailing_bytes_and_wrong_tags() -> None:
    with pytest.raises(TlvError):
        decode_single(bytes.fromhex("53 00 00"))
    with pytest.raises(TlvError):
        decode_single(bytes.fromhex("53 00"), tag=0x7E)


def test_unique_map_refuses_duplicates() -> None:
    with pytest.raises(TlvError):
        unique_map(decode_all(bytes.fromhex("80 00 80 00")))


TAGS = st.sampled_from([0x01, 0x53, 0x7C, 0x80, 0x9F01, 0x5F2F, 0x7F49, 0x5FC102, 0x5FFF01])


@given(items=st.lists(st.tuples(TAGS, st.binary(max_size=400)), max_size=6))
def test_encode_then_decode_is_identity(items: list[tuple[int, bytes]]) -> None:
    encoded = b"".join(encode_tlv(tag, value) for tag, value in items)
    assert [(item.tag, item.value) for item in decode_all(encoded)] == items


@given(data=st.binary(max_size=200))
def test_any_bytes_decode_or_raise_tlv_error(data: bytes) -> None:
    """No IndexError, ValueError or the like: junk is a TlvError, anything else decodes."""
    try:
        items = decode_all(data)
    except TlvError:
        return
    assert sum(len(item.value) for item in items) <= len(data)
    # minimal encodings re-encode to the same bytes
    reencoded = b"".join(item.encode() for item in items)
    assert len(reencoded) <= len(data)
