"""Short command APDUs (ISO/IEC 7816-4 §5.1, cases 1-4) and response APDUs."""

from __future__ import annotations

import pytest

from cardedge.apdu import CommandApdu, MalformedApdu, ResponseApdu


@pytest.mark.parametrize(
    ("command", "encoded"),
    [
        (CommandApdu(0x00, 0x20, 0x00, 0x80), "00 20 00 80"),  # case 1
        (CommandApdu(0x00, 0xFD, 0x00, 0x00, le=256), "00 FD 00 00 00"),  # case 2, Le 256 → 00
        (CommandApdu(0x00, 0xC0, 0x00, 0x00, le=0x10), "00 C0 00 00 10"),
        (
            CommandApdu(0x00, 0xA4, 0x04, 0x00, bytes.fromhex("A000000308")),
            "00 A4 04 00 05 A0 00 00 03 08",
        ),
        (
            CommandApdu(0x10, 0xDB, 0x3F, 0xFF, b"\x01\x02", le=256),
            "10 DB 3F FF 02 01 02 00",
        ),  # case 4
    ],
)
def test_encode_and_parse(command: CommandApdu, encoded: str) -> None:
    raw = bytes.fromhex(encoded)
    assert command.to_bytes() == raw
    assert CommandApdu.from_bytes(raw) == command


def test_verify_status_form_with_p3_zero_is_case_2() -> None:
    # `00 20 00 80 00`: P3 = 0 with nothing after it reads as Le (piv-brief §3)
    assert CommandApdu.from_bytes(bytes.fromhex("00 20 00 80 00")) == CommandApdu(
        0x00, 0x20, 0x00, 0x80, le=256
    )


def test_chained_flag() -> None:
    assert CommandApdu(0x10, 0xDB, 0x3F, 0xFF, b"x").is_chained
    assert not CommandApdu(0x00, 0xDB, 0x3F, 0xFF, b"x").is_chained


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "00 A4 04",
        "00 A4 04 00 05 A0 00",
        "00 A4 04 00 02 A0 00 00 00",
        "00 CB 3F FF 00 00 03 5C 01 7E",
    ],
    ids=["empty", "3 bytes", "short data", "long data", "extended"],
)
def test_malformed_commands(raw: str) -> None:
    with pytest.raises(MalformedApdu):
        CommandApdu.from_bytes(bytes.fromhex(raw))


@pytest.mark.parametrize(
    "fields",
    [{"cla": 256}, {"p1": -1}, {"data": bytes(256)}, {"le": 0}, {"le": 257}],
)
def test_impossible_fields_are_refused(fields: dict[str, object]) -> None:
    values: dict[str, object] = {"cla": 0, "ins": 0xCB, "p1": 0x3F, "p2": 0xFF, **fields}
    with pytest.raises(MalformedApdu):
        CommandApdu(**values)  # type: ignore[arg-type]


def test_response_split_and_flags() -> None:
    response = ResponseApdu.from_bytes(bytes.fromhex("7E 00 90 00"))
    assert (response.data, response.sw, response.sw1, response.sw2) == (
        b"\x7e\x00",
        0x9000,
        0x90,
        0x00,
    )
    assert response.is_success
    assert response.to_bytes() == bytes.fromhex("7E 00 90 00")
    assert (
        repr(ResponseApdu.status(0x6A82))
        == "ResponseApdu(sw='6A82 file, data object or application not found', 0 data bytes)"
    )
    with pytest.raises(MalformedApdu):
        ResponseApdu.from_bytes(b"\x90")
