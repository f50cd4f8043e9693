"""Yubico PIV extensions beyond what the other groups use: GET METADATA (F7), SET PIN RETRIES
(FA) and RESET (FB) (https://developers.yubico.com/PIV/Introduction/Yubico_extensions.html).
GET VERSION and GET SERIAL, the probe of what a card offers, are in the session."""

from __future__ import annotations

from dataclasses import dataclass

from cardedge.apdu.errors import TlvError
from cardedge.apdu.status import StatusWord
from cardedge.apdu.tlv import decode_all, unique_map
from cardedge.piv.algorithms import PublicKey, decode_public_key
from cardedge.piv.client.session import PivSession
from cardedge.piv.constants import (
    MANAGEMENT_KEY_REF,
    Ins,
    KeyAlgorithm,
    ManagementKeyAlgorithm,
    PinPolicy,
    PinRef,
    Slot,
    TouchPolicy,
)
from cardedge.piv.errors import MalformedCardResponse, UnsupportedCapability


@dataclass(frozen=True)
class SlotMetadata:
    """Yubico GET METADATA for a key slot."""

    algorithm: KeyAlgorithm
    pin_policy: PinPolicy
    touch_policy: TouchPolicy
    generated_on_card: bool
    public_key: PublicKey


@dataclass(frozen=True)
class ReferenceMetadata:
    """Yubico GET METADATA for the PIN or the PUK."""

    is_default: bool
    retry_limit: int
    retries_left: int


@dataclass(frozen=True)
class ManagementKeyMetadata:
    algorithm: ManagementKeyAlgorithm
    is_default: bool


class YubicoCommands(PivSession):
    def _metadata(self, reference: int) -> dict[int, bytes]:
        if not self.capabilities().metadata:
            msg = "the card has no GET METADATA (Yubico F7, firmware 5.3+)"
            raise UnsupportedCapability(msg, command="GET METADATA")
        data = self._send_optional("GET METADATA", Ins.GET_METADATA, 0x00, reference)
        try:
            return unique_map(decode_all(data))
        except TlvError as exc:
            msg = f"GET METADATA: the answer is not BER-TLV ({exc})"
            raise MalformedCardResponse(
                msg, sw=StatusWord.SUCCESS, command="GET METADATA"
            ) from None

    def get_slot_metadata(self, slot: Slot) -> SlotMetadata:
        fields = self._metadata(slot)
        try:
            algorithm = KeyAlgorithm(fields[0x01][0])
            return SlotMetadata(
                algorithm=algorithm,
                pin_policy=PinPolicy(fields[0x02][0]),
                touch_policy=TouchPolicy(fields[0x02][1]),
                generated_on_card=fields[0x03] == b"\x01",
                public_key=decode_public_key(algorithm, fields[0x04]),
            )
        except (KeyError, IndexError, ValueError) as exc:
            msg = f"GET METADATA: unexpected slot metadata ({type(exc).__name__})"
            raise MalformedCardResponse(
                msg, sw=StatusWord.SUCCESS, command="GET METADATA"
            ) from None

    def _reference_metadata(self, reference: int) -> ReferenceMetadata:
        fields = self._metadata(reference)
        try:
            return ReferenceMetadata(
                is_default=fields[0x05] != b"\x00",
                retry_limit=fields[0x06][0],
                retries_left=fields[0x06][1],
            )
        except (KeyError, IndexError) as exc:
            msg = f"GET METADATA: unexpected PIN metadata ({type(exc).__name__})"
            raise MalformedCardResponse(
                msg, sw=StatusWord.SUCCESS, command="GET METADATA"
            ) from None

    def get_pin_metadata(self) -> ReferenceMetadata:
        return self._reference_metadata(PinRef.PIV_PIN)

    def get_puk_metadata(self) -> ReferenceMetadata:
        return self._reference_metadata(PinRef.PUK)

    def get_management_key_metadata(self) -> ManagementKeyMetadata:
        fields = self._metadata(MANAGEMENT_KEY_REF)
        try:
            return ManagementKeyMetadata(
                algorithm=ManagementKeyAlgorithm(fields[0x01][0]),
                is_default=fields[0x05] != b"\x00",
            )
        except (KeyError, IndexError, ValueError) as exc:
            msg = f"GET METADATA: unexpected management key metadata ({type(exc).__name__})"
            raise MalformedCardResponse(
                msg, sw=StatusWord.SUCCESS, command="GET METADATA"
            ) from None

    def set_pin_retries(self, pin_retries: int, puk_retries: int) -> None:
        """Yubico SET PIN RETRIES (FA): needs management key and PIN; PIN and PUK go back to
        their factory values."""
        if not (1 <= pin_retries <= 255 and 1 <= puk_retries <= 255):
            msg = "retry limits are 1 to 255"
            raise ValueError(msg)
        self._send_optional("SET PIN RETRIES", Ins.SET_PIN_RETRIES, pin_retries, puk_retries)

    def reset_card(self) -> None:
        """Yubico RESET (FB): wipes the PIV application; only with PIN and PUK blocked."""
        self._send_optional("RESET", Ins.RESET, 0x00, 0x00)
