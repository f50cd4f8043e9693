"""The PIV client: the card edge of SP 800-73-4 (plus Yubico extensions) over any transport.

Every method sends one or a few commands through an `ApduChannel` (chaining done there) and
turns an error status word into a typed `PivError` that carries it. Nothing here keeps a secret
beyond the call that uses it, and no log line or error message holds PIN, PUK or key bytes.
"""

from __future__ import annotations

import hmac
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Self, TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from cardedge.apdu.channel import ApduChannel
from cardedge.apdu.errors import TlvError
from cardedge.apdu.status import StatusWord, retries_left
from cardedge.apdu.tlv import decode_all, decode_single, encode_tlv, unique_map
from cardedge.piv import signing
from cardedge.piv.algorithms import (
    PrivateKey,
    PublicKey,
    algorithm_of,
    decode_public_key,
    decrypt_block,
    encrypt_block,
    field_length,
)
from cardedge.piv.constants import (
    BIT_GROUP_WRAPPER,
    DATA_OBJECT_WRAPPER,
    DISCOVERY_WRAPPER,
    MANAGEMENT_KEY_REF,
    PIV_AID,
    TAG_LIST,
    Ins,
    KeyAlgorithm,
    ManagementKeyAlgorithm,
    ObjectTag,
    PinPolicy,
    PinRef,
    Slot,
    TouchPolicy,
)
from cardedge.piv.errors import (
    DataObjectNotFound,
    IncorrectData,
    IncorrectParameters,
    MalformedCardResponse,
    ManagementKeyAuthenticationFailed,
    SecurityStatusNotSatisfied,
    UnsupportedCapability,
    error_for_status,
)
from cardedge.piv.objects import (
    CardCapabilityContainer,
    CertificateContainer,
    Chuid,
    Discovery,
    KeyHistory,
    PrintedInformation,
)
from cardedge.piv.secrets import ManagementKey, Pin, Puk
from cardedge.transports.base import CardTransport

logger = logging.getLogger(__name__)
_T = TypeVar("_T")

# Status words that mean "this card does not have that command" (ISO/IEC 7816-4 §5.1.3).
_NOT_SUPPORTED = frozenset(
    {StatusWord.INS_NOT_SUPPORTED, StatusWord.CLA_NOT_SUPPORTED, StatusWord.FUNCTION_NOT_SUPPORTED}
)
_DYNAMIC_AUTHENTICATION_TEMPLATE = 0x7C
_WITNESS, _CHALLENGE, _RESPONSE, _EXPONENTIATION = 0x80, 0x81, 0x82, 0x85
_PUBLIC_KEY_TEMPLATE = 0x7F49
_VERIFY_LOGOUT = 0xFF


@dataclass(frozen=True)
class ApplicationProperties:
    """What SELECT returned (SP 800-73-4 Part 1 Table 3, Application Property Template)."""

    aid: bytes  # tag 4F as the card gives it: the PIX (00 00 10 00 01 00) or the whole AID
    label: str | None
    algorithms: tuple[int, ...]


@dataclass(frozen=True)
class PinStatus:
    verified: bool
    retries_left: int | None  # None when verified: the card does not say
    blocked: bool


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


def _wrapper(tag: int) -> int:
    if tag == ObjectTag.DISCOVERY:
        return DISCOVERY_WRAPPER
    if tag == ObjectTag.BIOMETRIC_INFORMATION_TEMPLATES:
        return BIT_GROUP_WRAPPER
    return DATA_OBJECT_WRAPPER


def _tag_list(tag: int) -> bytes:
    return encode_tlv(TAG_LIST, tag.to_bytes((tag.bit_length() + 7) // 8, "big"))


class PivClient:
    """PIV commands on a connected transport. `apdu_count` counts the APDUs exchanged."""

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

    # -- data objects (SP 800-73-4 Part 2 §§3.1.2, 3.3.2) ---------------------------------------

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

    @staticmethod
    def _decode(what: str, decode: Callable[[bytes], _T], contents: bytes) -> _T:
        try:
            return decode(contents)
        except ValueError as exc:  # TlvError, x509 and the builders' format errors
            msg = f"GET DATA: the card's {what} is malformed ({exc})"
            raise MalformedCardResponse(msg, sw=StatusWord.SUCCESS, command="GET DATA") from None

    # -- PIN and PUK (SP 800-73-4 Part 2 §§3.2.1-3.2.3) -----------------------------------------

    def verify_pin(self, pin: Pin) -> None:
        """VERIFY; WrongPin (with `retries_left`) or AuthenticationBlocked on failure."""
        self._send("VERIFY", Ins.VERIFY, 0x00, PinRef.PIV_PIN, pin.padded)

    def pin_status(self) -> PinStatus:
        """VERIFY without data: verified this session, or the tries left, or blocked."""
        response = self.channel.send(Ins.VERIFY, 0x00, PinRef.PIV_PIN)
        if response.sw == StatusWord.SUCCESS:
            return PinStatus(verified=True, retries_left=None, blocked=False)
        if response.sw == StatusWord.AUTHENTICATION_METHOD_BLOCKED:
            return PinStatus(verified=False, retries_left=0, blocked=True)
        if (tries := retries_left(response.sw)) is not None:
            return PinStatus(verified=False, retries_left=tries, blocked=tries == 0)
        raise error_for_status("VERIFY", response.sw)

    def logout(self) -> None:
        """VERIFY with P1 FF: the PIN is no longer verified (SP 800-73-4 Part 2 §3.2.1)."""
        self._send("VERIFY", Ins.VERIFY, _VERIFY_LOGOUT, PinRef.PIV_PIN)

    def change_pin(self, old: Pin, new: Pin) -> None:
        self._send(
            "CHANGE REFERENCE DATA",
            Ins.CHANGE_REFERENCE_DATA,
            0x00,
            PinRef.PIV_PIN,
            old.padded + new.padded,
        )

    def change_puk(self, old: Puk, new: Puk) -> None:
        self._send(
            "CHANGE REFERENCE DATA",
            Ins.CHANGE_REFERENCE_DATA,
            0x00,
            PinRef.PUK,
            old.padded + new.padded,
        )

    def unblock_pin(self, puk: Puk, new_pin: Pin) -> None:
        """RESET RETRY COUNTER: sets a new PIN with the PUK, unblocking it."""
        self._send(
            "RESET RETRY COUNTER",
            Ins.RESET_RETRY_COUNTER,
            0x00,
            PinRef.PIV_PIN,
            puk.padded + new_pin.padded,
        )

    # -- card management key (SP 800-73-4 Part 2 §3.2.4) ----------------------------------------

    def _general_authenticate(
        self, command: str, algorithm: int, key_reference: int, items: bytes
    ) -> dict[int, bytes]:
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

    def authenticate(self, key: ManagementKey) -> None:
        """Mutual authentication with the 9B key: each side proves it holds the key.

        ManagementKeyAuthenticationFailed if the card refuses the key or its algorithm, or if
        the card's own answer shows it holds another key.
        """
        algorithm = key.algorithm
        block = algorithm.block_size
        command = "GENERAL AUTHENTICATE (management key)"
        with self.channel.transaction():
            try:
                step1 = self._general_authenticate(
                    command, algorithm, MANAGEMENT_KEY_REF, encode_tlv(_WITNESS, b"")
                )
            except (IncorrectData, IncorrectParameters) as exc:
                msg = f"the card refused {algorithm.name} for its management key"
                raise ManagementKeyAuthenticationFailed(msg, sw=exc.sw, command=command) from None
            encrypted_witness = step1.get(_WITNESS, b"")
            if len(encrypted_witness) != block:
                msg = f"{command}: the card's witness is not one {algorithm.name} block"
                raise MalformedCardResponse(msg, sw=StatusWord.SUCCESS, command=command)
            witness = decrypt_block(algorithm, key.reveal(), encrypted_witness)
            challenge = os.urandom(block)
            try:
                step2 = self._general_authenticate(
                    command,
                    algorithm,
                    MANAGEMENT_KEY_REF,
                    encode_tlv(_WITNESS, witness) + encode_tlv(_CHALLENGE, challenge),
                )
            except SecurityStatusNotSatisfied as exc:
                msg = "the card refused the management key"
                raise ManagementKeyAuthenticationFailed(msg, sw=exc.sw, command=command) from None
        # OpenSC accepts the card's answer under 80 as well as the standard 82
        answer = step2.get(_RESPONSE, step2.get(_WITNESS, b""))
        if not hmac.compare_digest(answer, encrypt_block(algorithm, key.reveal(), challenge)):
            msg = "the card's answer to our challenge is wrong: it holds another management key"
            raise ManagementKeyAuthenticationFailed(msg, sw=StatusWord.SUCCESS, command=command)
        logger.info("management key authenticated (%s)", algorithm.name)

    def set_management_key(self, key: ManagementKey, *, require_touch: bool = False) -> None:
        """Yubico SET MANAGEMENT KEY (FF); needs the current key authenticated first.

        UnsupportedCapability if the card has no such command, or no AES management keys.
        """
        capabilities = self.capabilities()
        if not capabilities.set_management_key:
            msg = "the card has no standard command to change its management key (no Yubico FF)"
            raise UnsupportedCapability(msg, command="SET MANAGEMENT KEY")
        if key.algorithm is not ManagementKeyAlgorithm.TDES and not capabilities.aes_management_key:
            msg = f"the card (version {capabilities.version}) has no AES management keys"
            raise UnsupportedCapability(msg, command="SET MANAGEMENT KEY")
        data = bytes([key.algorithm, MANAGEMENT_KEY_REF, len(key)]) + key.reveal()
        self._send_optional(
            "SET MANAGEMENT KEY",
            Ins.SET_MANAGEMENT_KEY,
            0xFF,
            0xFE if require_touch else 0xFF,
            data,
        )
        logger.info("management key changed (%s)", key.algorithm.name)

    # -- asymmetric keys (SP 800-73-4 Part 2 §§3.2.4, 3.3.2) ----------------------------------

    def generate_key(
        self,
        slot: Slot,
        algorithm: KeyAlgorithm,
        *,
        pin_policy: PinPolicy = PinPolicy.DEFAULT,
        touch_policy: TouchPolicy = TouchPolicy.DEFAULT,
    ) -> PublicKey:
        """GENERATE ASYMMETRIC KEY PAIR on the card; returns the public key."""
        items = encode_tlv(0x80, bytes([algorithm]))
        if pin_policy is not PinPolicy.DEFAULT:  # Yubico tags; a plain PIV card may refuse them
            items += encode_tlv(0xAA, bytes([pin_policy]))
        if touch_policy is not TouchPolicy.DEFAULT:
            items += encode_tlv(0xAB, bytes([touch_policy]))
        command = "GENERATE ASYMMETRIC KEY PAIR"
        data = self._send(
            command, Ins.GENERATE_ASYMMETRIC_KEY_PAIR, 0x00, slot, encode_tlv(0xAC, items), le=256
        )
        template = self._parse(command, data, _PUBLIC_KEY_TEMPLATE)
        try:
            public_key = decode_public_key(algorithm, template)
        except ValueError as exc:
            msg = f"{command}: the public key template is malformed ({exc})"
            raise MalformedCardResponse(msg, sw=StatusWord.SUCCESS, command=command) from None
        logger.info("generated a %s key in slot %02X", algorithm.name, slot)
        return public_key

    def import_key(
        self,
        slot: Slot,
        private_key: PrivateKey,
        *,
        pin_policy: PinPolicy = PinPolicy.DEFAULT,
        touch_policy: TouchPolicy = TouchPolicy.DEFAULT,
    ) -> None:
        """Yubico IMPORT KEY (FE), e.g. an escrowed key-management key; chained for RSA."""
        if not self.capabilities().import_key:
            msg = "the card has no standard command to import a key (no Yubico FE)"
            raise UnsupportedCapability(msg, command="IMPORT KEY")
        algorithm = algorithm_of(private_key)
        if isinstance(private_key, rsa.RSAPrivateKey):
            numbers = private_key.private_numbers()
            half = field_length(algorithm) // 2
            values = (numbers.p, numbers.q, numbers.dmp1, numbers.dmq1, numbers.iqmp)
            data = b"".join(
                encode_tlv(tag, value.to_bytes(half, "big"))
                for tag, value in zip(range(1, 6), values, strict=True)
            )
        else:
            scalar = private_key.private_numbers().private_value
            data = encode_tlv(0x06, scalar.to_bytes(field_length(algorithm), "big"))
        if pin_policy is not PinPolicy.DEFAULT:
            data += encode_tlv(0xAA, bytes([pin_policy]))
        if touch_policy is not TouchPolicy.DEFAULT:
            data += encode_tlv(0xAB, bytes([touch_policy]))
        self._send_optional("IMPORT KEY", Ins.IMPORT_KEY, algorithm, slot, data)
        logger.info("imported a %s key into slot %02X", algorithm.name, slot)

    def private_key_operation(self, slot: Slot, algorithm: KeyAlgorithm, data: bytes) -> bytes:
        """GENERAL AUTHENTICATE `{82 ∅, 81 data}`: raw RSA or ECDSA of `data` by the card."""
        fields = self._general_authenticate(
            "GENERAL AUTHENTICATE",
            algorithm,
            slot,
            encode_tlv(_RESPONSE, b"") + encode_tlv(_CHALLENGE, data),
        )
        if _RESPONSE not in fields:
            msg = "GENERAL AUTHENTICATE: the card's answer has no response (82)"
            raise MalformedCardResponse(msg, sw=StatusWord.SUCCESS, command="GENERAL AUTHENTICATE")
        return fields[_RESPONSE]

    def sign(
        self,
        slot: Slot,
        message: bytes,
        *,
        algorithm: KeyAlgorithm,
        hash_algorithm: hashes.HashAlgorithm | None = None,
    ) -> bytes:
        """A signature of `message`: PKCS#1 v1.5 for RSA, DER ECDSA for ECC (SHA-256 default).

        The PIN must have been verified (just before, for 9C).
        """
        hash_algorithm = hash_algorithm or hashes.SHA256()
        return self.sign_digest(
            slot,
            signing.digest(message, hash_algorithm),
            algorithm=algorithm,
            hash_algorithm=hash_algorithm,
        )

    def sign_digest(
        self,
        slot: Slot,
        digest: bytes,
        *,
        algorithm: KeyAlgorithm,
        hash_algorithm: hashes.HashAlgorithm,
    ) -> bytes:
        size = field_length(algorithm)
        if algorithm.is_rsa:
            block = signing.pkcs1v15_signature_block(digest, hash_algorithm, size)
            return self.private_key_operation(slot, algorithm, block)
        return self.private_key_operation(slot, algorithm, signing.ecdsa_input(digest, size))

    def ecdh(self, slot: Slot, peer_public_key: ec.EllipticCurvePublicKey) -> bytes:
        """Key agreement with the slot's ECC key: the shared secret (X coordinate)."""
        algorithm = algorithm_of(peer_public_key)
        point = peer_public_key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        fields = self._general_authenticate(
            "GENERAL AUTHENTICATE",
            algorithm,
            slot,
            encode_tlv(_RESPONSE, b"") + encode_tlv(_EXPONENTIATION, point),
        )
        if _RESPONSE not in fields:
            msg = "GENERAL AUTHENTICATE: the card's answer has no shared secret (82)"
            raise MalformedCardResponse(msg, sw=StatusWord.SUCCESS, command="GENERAL AUTHENTICATE")
        return fields[_RESPONSE]

    def attest(self, slot: Slot) -> x509.Certificate:
        """Yubico ATTEST (F9): a certificate, signed by the card, for a key it generated."""
        if not self.capabilities().attestation:
            msg = "the card cannot attest its keys (no Yubico F9)"
            raise UnsupportedCapability(msg, command="ATTEST")
        data = self._send_optional("ATTEST", Ins.ATTEST, slot, 0x00)
        return self._decode("attestation", x509.load_der_x509_certificate, data)

    # -- Yubico extensions ------------------------------------------------------------------------

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


__all__ = [
    "ApplicationProperties",
    "CardCapabilities",
    "ManagementKeyMetadata",
    "PinStatus",
    "PivClient",
    "ReferenceMetadata",
    "SlotMetadata",
]
