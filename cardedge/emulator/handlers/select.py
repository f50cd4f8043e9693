"""SELECT (ISO/IEC 7816-4 §11.1.1; SP 800-73-4 Part 2 §3.1.1) and the Application Property
Template it returns."""

from __future__ import annotations

from cardedge.apdu.status import StatusWord
from cardedge.apdu.tlv import encode_tlv
from cardedge.emulator.context import Command, CommandContext
from cardedge.emulator.errors import fail
from cardedge.piv.constants import (
    PIV_AID,
    PIV_AID_MIN_SELECT_LENGTH,
    PIV_RID,
    KeyAlgorithm,
    ManagementKeyAlgorithm,
)

APPLICATION_LABEL = b"CardForge PIV"
SELECT_BY_NAME = 0x04
SELECT_FIRST_WITH_FCI = 0x00
SELECT_FIRST_NO_RESPONSE = 0x0C
_SELECT_BY_FILE = frozenset({0x00, 0x01, 0x02, 0x03, 0x08, 0x09})


def application_property_template() -> bytes:
    """SP 800-73-4 Part 1 Table 3 / Part 2 §3.1.1: `61 { 4F PIX+version, 79 { 4F RID },
    50 label, AC { 80 alg…, 06 00 } }`. Only algorithms the card implements are listed — never
    the secure-messaging suites 27/2E, which would switch OpenSC to SM (piv-brief §11)."""
    algorithms = [*map(int, ManagementKeyAlgorithm), *map(int, KeyAlgorithm)]
    supported = b"".join(encode_tlv(0x80, bytes([alg])) for alg in algorithms)
    return encode_tlv(
        0x61,
        [
            encode_tlv(0x4F, PIV_AID[5:]),  # PIX 00 00 10 00 01 00: OpenSC matches 00 00 10 00
            encode_tlv(0x79, encode_tlv(0x4F, PIV_RID)),
            encode_tlv(0x50, APPLICATION_LABEL),
            encode_tlv(0xAC, supported + encode_tlv(0x06, b"\x00")),
        ],
    )


def is_piv_aid(aid: bytes) -> bool:
    """The full AID, or a right-truncated prefix at least as long as the RID (OpenSC sends 9
    bytes, libykpiv 5)."""
    return len(aid) >= PIV_AID_MIN_SELECT_LENGTH and PIV_AID.startswith(aid)


def handle_select(ctx: CommandContext, command: Command) -> bytes:
    if command.p1 != SELECT_BY_NAME:
        # PIV has no file system: a file ID is simply not there (other drivers probe 3F00)
        raise fail(
            StatusWord.NOT_FOUND if command.p1 in _SELECT_BY_FILE else StatusWord.INCORRECT_P1_P2
        )
    if command.p2 not in (SELECT_FIRST_WITH_FCI, SELECT_FIRST_NO_RESPONSE):
        raise fail(StatusWord.INCORRECT_P1_P2)
    if not is_piv_aid(command.data):
        # ISO/IEC 7816-4 SW 6A82; the PIV application stays selected (OpenSC probes other AIDs)
        raise fail(StatusWord.NOT_FOUND)
    ctx.session.reset_security_status()
    if command.p2 == SELECT_FIRST_NO_RESPONSE:
        return b""
    return application_property_template()
