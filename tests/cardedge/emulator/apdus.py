"""Helpers for APDU-level emulator tests."""

from __future__ import annotations

from cardedge.emulator import PivCardEmulator

SELECT_PIV = "00 A4 04 00 09 A0 00 00 03 08 00 00 10 00 00"
VERIFY_123456 = "00 20 00 80 08 31 32 33 34 35 36 FF FF"
DEFAULT_3DES_KEY = bytes.fromhex("010203040506070801020304050607080102030405060708")


def send(card: PivCardEmulator, apdu: str | bytes) -> tuple[bytes, int]:
    """Send hex (spaces allowed) or bytes; returns (data, SW)."""
    raw = bytes.fromhex(apdu) if isinstance(apdu, str) else apdu
    response = card.process(raw)
    assert len(response) >= 2
    return response[:-2], int.from_bytes(response[-2:], "big")


def sw(card: PivCardEmulator, apdu: str | bytes) -> int:
    return send(card, apdu)[1]
