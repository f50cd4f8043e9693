"""GET DATA and PUT DATA (SP 800-73-4 Part 2 §§3.1.2, 3.3.2): the data objects, read and written
through their builders and parsers in `cardedge.piv.objects`."""

from __future__ import annotations

from cryptography import x509

from cardedge.apdu.status import StatusWord
from cardedge.apdu.tlv import encode_tlv
from cardedge.piv.client.session import PivSession
from cardedge.piv.constants import (
    BIT_GROUP_WRAPPER,
    DATA_OBJECT_WRAPPER,
    DISCOVERY_WRAPPER,
    TAG_LIST,
    Ins,
    ObjectTag,
    Slot,
)
from cardedge.piv.errors import DataObjectNotFound, MalformedCardResponse, UnsupportedCapability
from cardedge.piv.objects import (
    CardCapabilityContainer,
    CertificateContainer,
    Chuid,
    Discovery,
    KeyHistory,
    PrintedInformation,
)


def _wrapper(tag: int) -> int:
    if tag == ObjectTag.DISCOVERY:
        return DISCOVERY_WRAPPER
    if tag == ObjectTag.BIOMETRIC_INFORMATION_TEMPLATES:
        return BIT_GROUP_WRAPPER
    return DATA_OBJECT_WRAPPER


def _tag_list(tag: int) -> bytes:
    return encode_tlv(TAG_LIST, tag.to_bytes((tag.bit_length() + 7) // 8, "big"))


class DataObjectCommands(PivSession):
    def get_object(self, tag: int) -> bytes:
        """The contents of a data object (inside its 53 / 7E wrapper).

        DataObjectNotFound if the card has no such object.
        """
        data = self._send("GET DATA", Ins.GET_DATA, 0x3F, 0xFF, _tag_list(tag), le=256)
        return self._parse("GET DATA", data, _wrapper(tag))

    def put_object(self, tag: int, contents: bytes) -> None:
        """Write a data object; needs the management key. Empty contents delete it."""
        body = _tag_list(tag) + encode_tlv(_wrapper(tag), contents)
        self._send("PUT DATA", Ins.PUT_DATA, 0x3F, 0xFF, body)

    def delete_object(self, tag: int) -> None:
        self.put_object(tag, b"")

    def read_chuid(self) -> Chuid:
        return self._decode("CHUID", Chuid.decode, self.get_object(ObjectTag.CHUID))

    def write_chuid(self, chuid: Chuid) -> None:
        self.put_object(ObjectTag.CHUID, chuid.encode())

    def read_card_capability_container(self) -> CardCapabilityContainer:
        contents = self.get_object(ObjectTag.CARD_CAPABILITY_CONTAINER)
        return self._decode("CCC", CardCapabilityContainer.decode, contents)

    def write_card_capability_container(self, ccc: CardCapabilityContainer) -> None:
        self.put_object(ObjectTag.CARD_CAPABILITY_CONTAINER, ccc.encode())

    def read_discovery(self) -> Discovery:
        return self._decode("discovery", Discovery.decode, self.get_object(ObjectTag.DISCOVERY))

    def write_discovery(self, discovery: Discovery) -> None:
        self.put_object(ObjectTag.DISCOVERY, discovery.encode())

    def read_key_history(self) -> KeyHistory:
        return self._decode(
            "key history", KeyHistory.decode, self.get_object(ObjectTag.KEY_HISTORY)
        )

    def write_key_history(self, history: KeyHistory) -> None:
        self.put_object(ObjectTag.KEY_HISTORY, history.encode())

    def read_printed_information(self) -> PrintedInformation:
        """Needs the PIN verified (SP 800-73-4 Part 1 Table 3)."""
        contents = self.get_object(ObjectTag.PRINTED_INFORMATION)
        return self._decode("printed information", PrintedInformation.decode, contents)

    def write_printed_information(self, printed: PrintedInformation) -> None:
        self.put_object(ObjectTag.PRINTED_INFORMATION, printed.encode())

    def read_certificate(self, slot: Slot) -> x509.Certificate | None:
        """The slot's certificate (decompressed if stored gzip'd), or None if there is none."""
        try:
            contents = self.get_object(Slot(slot).certificate_tag)
        except DataObjectNotFound:
            return None
        return self._decode("certificate", CertificateContainer.decode, contents).certificate

    def write_certificate(
        self, slot: Slot, certificate: x509.Certificate, *, compress: bool = False
    ) -> None:
        container = CertificateContainer(certificate=certificate, compressed=compress)
        self.put_object(Slot(slot).certificate_tag, container.encode())

    def delete_certificate(self, slot: Slot) -> None:
        self.delete_object(Slot(slot).certificate_tag)

    def read_attestation_certificate(self) -> x509.Certificate:
        """The certificate of the card's attestation key (F9), which signs what `attest`
        returns: Yubico keeps it in object 5FFF01, in a certificate container."""
        if not self.capabilities().attestation:
            msg = "the card cannot attest its keys (no Yubico F9)"
            raise UnsupportedCapability(msg, command="GET DATA")
        contents = self.get_object(ObjectTag.YUBICO_ATTESTATION_CERTIFICATE)
        container = self._decode("attestation certificate", CertificateContainer.decode, contents)
        if container.certificate is None:
            msg = "GET DATA: the card's attestation certificate object is empty"
            raise MalformedCardResponse(msg, sw=StatusWord.SUCCESS, command="GET DATA")
        return container.certificate
