"""The PIV client's session: the transport and its APDU channel, SELECT, what the card offers,
and the plumbing every group of commands shares (status word to typed error, answer parsing).

Each group of PIV commands (data_objects, pin_management, management_key, keys, yubico) is a
subclass of `PivSession`; `PivClient` (in `cardedge.piv.client`) combines them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Self, TypeVar

from cardedge.apdu.channel import ApduChannel
from cardedge.apdu.errors import TlvError
from cardedge.apdu.status import StatusWord
from cardedge.apdu.tlv import decode_all, decode_single, encode_tlv, unique_map
from cardedge.piv.constants import PIV_AID, Ins
from cardedge.piv.errors import MalformedCardResponse, UnsupportedCapability, error_for_status
from cardedge.transports.base import CardTransport

_T = TypeVar("_T")

# Status words that mean "this card does not have that command" (ISO/IEC 7816-4 §5.1.3).
_NOT_SUPPORTED = frozenset(
    {StatusWord.INS_NOT_SUPPORTED, StatusWord.CLA_NOT_SUPPORTED, StatusWord.FUNCTION_NOT_SUPPORTED}
)
_DYNAMIC_AUTHENTICATION_TEMPLATE = 0x7C
# Its items (SP 800-73-4 Part 2 Table 7), for the groups of commands that authenticate or sign.
WITNESS, CHALLENGE, RESPONSE, EXPONENTIATION = 0x80, 0x81, 0x82, 0x85


@dataclass(frozen=True)
class ApplicationProperties:
    """What SELECT returned (SP 800-73-4 Part 1 Table 3, Application Property Template)."""

    aid: bytes  # tag 4F as the card gives it: the PIX (00 00 10 00 01 00) or the whole AID
    label: str | None
    algorithms: tuple[int, ...]


@dataclass(frozen=True)
class CardCapabilities:
    """What the card offers beyond SP 800-73-4, learnt from Yubico GET VERSION / GET SERIAL."""

    version: tuple[int, int, int] | None
    serial: int | None

    @property
    def yubico_extensions(self) -> bool:
        return self.version is not None

    @property
    def set_management_key(self) -> bool:
        return self.yubico_extensions

    @property
    def import_key(self) -> bool:
        return self.yubico_extensions

    @property
    def aes_management_key(self) -> bool:
        return self.version is not None and self.version >= (5, 4, 0)

    @property
    def metadata(self) -> bool:
        return self.version is not None and self.version >= (5, 3, 0)

    @property
    def attestation(self) -> bool:
        return self.version is not None and self.version >= (4, 3, 0)


class PivSession:
    """A selected PIV application on a connected transport. `apdu_count` counts the APDUs."""

    def __init__(self, transport: CardTransport) -> None:
        self.transport = transport
        self.channel = ApduChannel(transport)
        self._capabilities: CardCapabilities | None = None

    @classmethod
    def connect(cls, transport: CardTransport) -> Self:
        """Connect the transport, SELECT the PIV application, return the client."""
        if not transport.is_connected:
            transport.connect()
        client = cls(transport)
        client.select()
        return client

    @property
    def apdu_count(self) -> int:
        return self.channel.apdu_count

    # -- plumbing -----------------------------------------------------------------------------

    def _send(
        self, command: str, ins: int, p1: int, p2: int, data: bytes = b"", *, le: int | None = None
    ) -> bytes:
        response = self.channel.send(ins, p1, p2, data, le=le)
        if response.sw != StatusWord.SUCCESS:
            raise error_for_status(command, response.sw)
        return response.data

    def _send_optional(self, command: str, ins: int, p1: int, p2: int, data: bytes = b"") -> bytes:
        """A Yubico extension: UnsupportedCapability if the card lacks the instruction."""
        response = self.channel.send(ins, p1, p2, data, le=256 if not data else None)
        if response.sw in _NOT_SUPPORTED:
            msg = f"{command}: the card does not support this command ({response.sw:04X})"
            raise UnsupportedCapability(msg, sw=response.sw, command=command)
        if response.sw != StatusWord.SUCCESS:
            raise error_for_status(command, response.sw)
        return response.data

    @staticmethod
    def _parse(command: str, data: bytes, tag: int) -> bytes:
        try:
            return decode_single(data, tag=tag).value
        except TlvError as exc:
            msg = f"{command}: the card's answer is not a {tag:X} object ({exc})"
            raise MalformedCardResponse(msg, sw=StatusWord.SUCCESS, command=command) from None

    @staticmethod
    def _decode(what: str, decode: Callable[[bytes], _T], contents: bytes) -> _T:
        try:
            return decode(contents)
        except ValueError as exc:  # TlvError, x509 and the builders' format errors
            msg = f"GET DATA: the card's {what} is malformed ({exc})"
            raise MalformedCardResponse(msg, sw=StatusWord.SUCCESS, command="GET DATA") from None

    def _general_authenticate(
        self, command: str, algorithm: int, key_reference: int, items: bytes
    ) -> dict[int, bytes]:
        """GENERAL AUTHENTICATE (SP 800-73-4 Part 2 §3.2.4): the 7C template's items by tag."""
        data = encode_tlv(_DYNAMIC_AUTHENTICATION_TEMPLATE, items)
        answer = self._send(
            command, Ins.GENERAL_AUTHENTICATE, algorithm, key_reference, data, le=256
        )
        if not answer:
            return {}
        try:
            return unique_map(
                decode_single(answer, tag=_DYNAMIC_AUTHENTICATION_TEMPLATE).children()
            )
        except TlvError as exc:
            msg = f"{command}: the card's answer is not a 7C template ({exc})"
            raise MalformedCardResponse(msg, sw=StatusWord.SUCCESS, command=command) from None

    # -- application ----------------------------------------------------------------------------

    def select(self) -> ApplicationProperties:
        """SELECT the PIV application (SP 800-73-4 Part 2 §3.1.1); resets the security status."""
        data = self._send("SELECT", Ins.SELECT, 0x04, 0x00, PIV_AID, le=256)
        if not data:
            return ApplicationProperties(aid=PIV_AID, label=None, algorithms=())
        try:
            fields = decode_single(data, tag=0x61).children()
            values = {item.tag: item.value for item in fields}
            algorithms: tuple[int, ...] = ()
            if 0xAC in values:
                algorithms = tuple(
                    item.value[0]
                    for item in decode_all(values[0xAC])
                    if item.tag == 0x80 and item.value
                )
        except TlvError as exc:
            msg = f"SELECT: the application property template is malformed ({exc})"
            raise MalformedCardResponse(msg, sw=StatusWord.SUCCESS, command="SELECT") from None
        label = values.get(0x50)
        return ApplicationProperties(
            aid=values.get(0x4F, PIV_AID),
            label=label.decode("utf-8", "replace") if label is not None else None,
            algorithms=algorithms,
        )

    # -- what the card offers: the Yubico probe, which any PIV card may answer or refuse ---------

    def get_version(self) -> tuple[int, int, int] | None:
        """Yubico GET VERSION (FD), or None for a card without it."""
        try:
            data = self._send_optional("GET VERSION", Ins.GET_VERSION, 0x00, 0x00)
        except UnsupportedCapability:
            return None
        if len(data) != 3:
            msg = "GET VERSION: the answer is not three bytes"
            raise MalformedCardResponse(msg, sw=StatusWord.SUCCESS, command="GET VERSION")
        return data[0], data[1], data[2]

    def get_serial(self) -> int | None:
        """Yubico GET SERIAL (F8), or None for a card without it."""
        try:
            data = self._send_optional("GET SERIAL", Ins.GET_SERIAL, 0x00, 0x00)
        except UnsupportedCapability:
            return None
        return int.from_bytes(data, "big")

    def capabilities(self) -> CardCapabilities:
        """Probed once per client (GET VERSION, GET SERIAL)."""
        if self._capabilities is None:
            version = self.get_version()
            serial = self.get_serial() if version is not None else None
            self._capabilities = CardCapabilities(version=version, serial=serial)
        return self._capabilities
