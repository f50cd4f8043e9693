"""Command chaining (CLA 10) and response chaining (61xx + GET RESPONSE), ISO/IEC 7816-4 §5.3."""

from __future__ import annotations

from cardedge.apdu.tlv import encode_tlv
from cardedge.emulator import PivCardEmulator
from tests.cardedge.emulator.apdus import DEFAULT_3DES_KEY, send, sw
from tests.cardedge.emulator.test_general_authenticate import authenticate_3des

OBJECT_TAG = bytes.fromhex("5FC10A")


def _put_data_parts(contents: bytes) -> list[bytes]:
    body = encode_tlv(0x5C, OBJECT_TAG) + encode_tlv(0x53, contents)
    parts = [body[i : i + 255] for i in range(0, len(body), 255)]
    apdus = [bytes([0x10, 0xDB, 0x3F, 0xFF, len(p)]) + p for p in parts[:-1]]
    return [*apdus, bytes([0x00, 0xDB, 0x3F, 0xFF, len(parts[-1])]) + parts[-1]]


def test_a_chained_put_data_is_acknowledged_part_by_part(emulator: PivCardEmulator) -> None:
    authenticate_3des(emulator, DEFAULT_3DES_KEY)
    contents = bytes(range(256)) * 3  # 768 bytes → 4 parts
    parts = _put_data_parts(contents)
    assert len(parts) == 4
    assert [sw(emulator, part) for part in parts] == [0x9000] * 4
    data, status = send(emulator, "00 CB 3F FF 05 5C 03 5F C1 0A 00")
    assert status == 0x6100  # 516 bytes still to come
    assert data == encode_tlv(0x53, contents)[:256]


def test_response_chaining_hands_out_256_byte_pieces(emulator: PivCardEmulator) -> None:
    authenticate_3des(emulator, DEFAULT_3DES_KEY)
    contents = bytes(range(256)) * 3
    for part in _put_data_parts(contents):
        assert sw(emulator, part) == 0x9000
    stored = encode_tlv(0x53, contents)  # 53 82 03 00 + 768 = 772 bytes = 3 x 256 + 4
    first, status = send(emulator, "00 CB 3F FF 05 5C 03 5F C1 0A 00")
    assert (len(first), status) == (256, 0x6100)  # 516 left: "256 or more"
    second, status = send(emulator, "00 C0 00 00 00")
    assert (len(second), status) == (256, 0x6100)  # 260 left
    third, status = send(emulator, "00 C0 00 00 00")
    assert (len(third), status) == (256, 0x6104)  # 4 left
    fourth, status = send(emulator, "00 C0 00 00 04")
    assert (len(fourth), status) == (4, 0x9000)
    assert first + second + third + fourth == stored
    assert sw(emulator, "00 C0 00 00 00") == 0x6985  # nothing pending any more


def test_get_response_with_a_short_le(emulator: PivCardEmulator) -> None:
    authenticate_3des(emulator, DEFAULT_3DES_KEY)
    for part in _put_data_parts(bytes(300)):
        assert sw(emulator, part) == 0x9000
    send(emulator, "00 CB 3F FF 05 5C 03 5F C1 0A 00")
    data, status = send(emulator, "00 C0 00 00 10")
    assert (len(data), status) == (16, 0x6120)  # 304 - 256 - 16 = 32 still pending


def test_any_other_command_discards_the_pending_response(emulator: PivCardEmulator) -> None:
    authenticate_3des(emulator, DEFAULT_3DES_KEY)
    for part in _put_data_parts(bytes(600)):
        assert sw(emulator, part) == 0x9000
    assert sw(emulator, "00 CB 3F FF 05 5C 03 5F C1 0A 00") == 0x6100
    assert sw(emulator, "00 FD 00 00") == 0x9000
    assert sw(emulator, "00 C0 00 00 00") == 0x6985


def test_a_chain_that_changes_instruction_is_aborted(emulator: PivCardEmulator) -> None:
    authenticate_3des(emulator, DEFAULT_3DES_KEY)
    first, *_rest = _put_data_parts(bytes(600))
    assert sw(emulator, first) == 0x9000
    assert sw(emulator, "10 87 11 9A 04 7C 02 82 00") == 0x6883
    # the aborted chain is gone: a final part alone is a (malformed) command of its own
    assert sw(emulator, "00 DB 3F FF 02 53 00") == 0x6A80


def test_chaining_is_refused_where_no_command_needs_it(emulator: PivCardEmulator) -> None:
    assert sw(emulator, "10 20 00 80 08 31 32 33 34 35 36 FF FF") == 0x6884
    assert sw(emulator, "10 C0 00 00 00") == 0x6884


def test_a_plain_command_in_the_middle_drops_the_chain(emulator: PivCardEmulator) -> None:
    authenticate_3des(emulator, DEFAULT_3DES_KEY)
    parts = _put_data_parts(bytes(600))
    assert sw(emulator, parts[0]) == 0x9000
    assert sw(emulator, "00 FD 00 00") == 0x9000  # runs normally
    assert sw(emulator, parts[-1]) == 0x6A80  # the tail alone is not a PUT DATA body
    data, status = send(emulator, "00 CB 3F FF 05 5C 03 5F C1 0A 00")
    assert (data, status) == (b"", 0x6A82)


def test_chained_data_beyond_the_card_buffer_is_refused(emulator: PivCardEmulator) -> None:
    authenticate_3des(emulator, DEFAULT_3DES_KEY)
    part = bytes([0x10, 0xDB, 0x3F, 0xFF, 0xFF]) + bytes(255)
    answers = {sw(emulator, part) for _ in range(70)}  # 17.8 KB
    assert 0x6A84 in answers
