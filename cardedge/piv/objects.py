"""Builders and parsers for the PIV data objects CardForge writes (SP 800-73-4 Part 1 §3.1).

Each class encodes the *contents* of its object — the simple TLVs that go inside the `53`
wrapper (inside `7E` for the discovery object) — and decodes them back. `PivClient` adds the
wrapper when it writes and strips it when it reads.

One module over 400 lines on purpose: it is the one table of the objects CardForge writes
(FASC-N and CHUID, CCC, discovery, key history, printed information, certificate container),
one short class per object naming the SP 800-73-4 table it follows, all sharing the error
detection code and the reading of simple TLVs. Read whole, it checks against the standard the
way the standard's tables read; split, each piece would be a few dozen lines.
"""

from __future__ import annotations

import datetime as dt
import uuid
import zlib
from dataclasses import dataclass, field
from typing import ClassVar, Self

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from cardedge.apdu.errors import TlvError
from cardedge.apdu.tlv import decode_all, encode_tlv, first
from cardedge.piv.constants import PIV_AID, ObjectTag

ERROR_DETECTION_CODE = encode_tlv(0xFE, b"")  # "LRC", always present and empty (Table 9 note)


def _values(contents: bytes) -> dict[int, bytes]:
    """Tag → value of the first occurrence; objects in the field sometimes repeat FE."""
    values: dict[int, bytes] = {}
    for item in decode_all(contents):
        values.setdefault(item.tag, item.value)
    return values


# ---------------------------------------------------------------------------------------------
# FASC-N (TIG SCEPACS v2.3 §6): 40 characters of 4-bit BCD, LSB first, plus an odd parity bit.

_SS, _FS, _ES = 0xB, 0xD, 0xF  # start sentinel, field separator, end sentinel


def _fascn_char(value: int) -> str:
    data_bits = [(value >> i) & 1 for i in range(4)]
    parity = 1 - (sum(data_bits) % 2)  # odd parity over five bits
    return "".join(map(str, data_bits)) + str(parity)


@dataclass(frozen=True)
class Fascn:
    """Federal Agency Smart Credential Number. Agency code 9999 marks a non-federal issuer,
    which OpenSC calls "PIV-compatible" and for which it takes the CHUID GUID as token serial."""

    agency_code: str = "9999"
    system_code: str = "9999"
    credential_number: str = "999999"
    credential_series: str = "0"
    individual_credential_issue: str = "1"
    person_identifier: str = "0000000000"
    organizational_category: str = "3"
    organizational_identifier: str = "0000"
    person_association_category: str = "1"

    _WIDTHS: ClassVar[dict[str, int]] = {
        "agency_code": 4,
        "system_code": 4,
        "credential_number": 6,
        "credential_series": 1,
        "individual_credential_issue": 1,
        "person_identifier": 10,
        "organizational_category": 1,
        "organizational_identifier": 4,
        "person_association_category": 1,
    }

    def __post_init__(self) -> None:
        for name, width in self._WIDTHS.items():
            value = getattr(self, name)
            if len(value) != width or not value.isascii() or not value.isdigit():
                msg = f"FASC-N {name} must be {width} digits"
                raise ValueError(msg)

    def _characters(self) -> list[int]:
        def digits(text: str) -> list[int]:
            return [int(c) for c in text]

        chars = [_SS, *digits(self.agency_code), _FS, *digits(self.system_code), _FS]
        chars += [*digits(self.credential_number), _FS, *digits(self.credential_series), _FS]
        chars += [*digits(self.individual_credential_issue), _FS, *digits(self.person_identifier)]
        chars += digits(self.organizational_category) + digits(self.organizational_identifier)
        chars += [*digits(self.person_association_category), _ES]
        lrc = 0
        for char in chars:
            lrc ^= char
        return [*chars, lrc]

    def encode(self) -> bytes:
        """The 25-byte FASC-N of CHUID tag 30."""
        bits = "".join(_fascn_char(c) for c in self._characters())
        return int(bits, 2).to_bytes(25, "big")

    @classmethod
    def decode(cls, raw: bytes) -> Self:
        if len(raw) != 25:
            msg = f"a FASC-N has 25 bytes, not {len(raw)}"
            raise ValueError(msg)
        bits = f"{int.from_bytes(raw, 'big'):0200b}"
        chars = []
        lrc = 0
        for i in range(40):
            chunk = bits[5 * i : 5 * i + 5]
            value = sum(int(bit) << n for n, bit in enumerate(chunk[:4]))
            if chunk != _fascn_char(value):
                msg = f"FASC-N character {i + 1} fails its parity check"
                raise ValueError(msg)
            chars.append(value)
        for value in chars[:-1]:
            lrc ^= value
        if lrc != chars[-1]:
            msg = "FASC-N LRC does not match"
            raise ValueError(msg)
        layout = [_SS, *[None] * 4, _FS, *[None] * 4, _FS, *[None] * 6, _FS, None, _FS, None, _FS]
        layout += [None] * 16 + [_ES]
        for i, expected in enumerate(layout):
            if (expected is None) == (chars[i] > 9) or (
                expected is not None and chars[i] != expected
            ):
                msg = f"FASC-N character {i + 1} is not where the layout expects it"
                raise ValueError(msg)
        text = "".join(str(c) for c in chars if c <= 9)
        return cls(
            agency_code=text[0:4],
            system_code=text[4:8],
            credential_number=text[8:14],
            credential_series=text[14],
            individual_credential_issue=text[15],
            person_identifier=text[16:26],
            organizational_category=text[26],
            organizational_identifier=text[27:31],
            person_association_category=text[31],
        )


# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chuid:
    """Card Holder Unique Identifier (SP 800-73-4 Part 1 §3.1.2, Table 9)."""

    TAG: ClassVar[int] = ObjectTag.CHUID

    guid: uuid.UUID
    expiry: dt.date
    fascn: bytes = field(default_factory=lambda: Fascn().encode())
    organization_identifier: bytes | None = None
    duns: bytes | None = None
    cardholder_uuid: uuid.UUID | None = None
    issuer_signature: bytes = b""  # tag 3E; CMS signed by the content signer, or empty

    def __post_init__(self) -> None:
        if len(self.fascn) != 25:
            msg = "the CHUID FASC-N has 25 bytes"
            raise ValueError(msg)
        if self.organization_identifier is not None and len(self.organization_identifier) != 4:
            msg = "the CHUID organizational identifier has 4 bytes"
            raise ValueError(msg)
        if self.duns is not None and len(self.duns) != 9:
            msg = "the CHUID DUNS has 9 bytes"
            raise ValueError(msg)

    def encode(self) -> bytes:
        parts = [encode_tlv(0x30, self.fascn)]
        if self.organization_identifier is not None:
            parts.append(encode_tlv(0x32, self.organization_identifier))
        if self.duns is not None:
            parts.append(encode_tlv(0x33, self.duns))
        parts.append(encode_tlv(0x34, self.guid.bytes))
        parts.append(encode_tlv(0x35, self.expiry.strftime("%Y%m%d").encode("ascii")))
        if self.cardholder_uuid is not None:
            parts.append(encode_tlv(0x36, self.cardholder_uuid.bytes))
        parts.append(encode_tlv(0x3E, self.issuer_signature))
        parts.append(ERROR_DETECTION_CODE)
        return b"".join(parts)

    @classmethod
    def decode(cls, contents: bytes) -> Self:
        values = _values(contents)
        try:
            expiry = dt.datetime.strptime(values[0x35].decode("ascii"), "%Y%m%d").date()
            return cls(
                guid=uuid.UUID(bytes=values[0x34]),
                expiry=expiry,
                fascn=values[0x30],
                organization_identifier=values.get(0x32),
                duns=values.get(0x33),
                cardholder_uuid=uuid.UUID(bytes=values[0x36]) if 0x36 in values else None,
                issuer_signature=values.get(0x3E, b""),
            )
        except KeyError as exc:
            msg = f"the CHUID lacks its mandatory tag {exc.args[0]:02X}"
            raise ValueError(msg) from None
        except UnicodeDecodeError:
            msg = "the CHUID expiry date is not ASCII YYYYMMDD"
            raise ValueError(msg) from None


@dataclass(frozen=True)
class CardCapabilityContainer:
    """Card Capability Container (SP 800-73-4 Part 1 §3.1.1, Table 8), as Yubico writes it."""

    TAG: ClassVar[int] = ObjectTag.CARD_CAPABILITY_CONTAINER
    GSC_RID: ClassVar[bytes] = bytes.fromhex("A000000116")  # keep it: A0 00 00 00 79 means CAC

    card_identifier: bytes
    container_version: int = 0x21
    grammar_version: int = 0x21
    pkcs15: int = 0x00
    data_model: int = 0x10

    def __post_init__(self) -> None:
        if len(self.card_identifier) != 21 or not self.card_identifier.startswith(self.GSC_RID):
            msg = "the CCC card identifier is 21 bytes starting with the GSC-RID A000000116"
            raise ValueError(msg)

    @classmethod
    def for_card(cls, card_id: bytes, *, manufacturer: int = 0xFF, card_type: int = 0x02) -> Self:
        """Card identifier = GSC-RID || manufacturer || card type || 14-byte card id."""
        if len(card_id) != 14:
            msg = "the CCC card id has 14 bytes"
            raise ValueError(msg)
        return cls(card_identifier=cls.GSC_RID + bytes([manufacturer, card_type]) + card_id)

    def encode(self) -> bytes:
        return b"".join(
            [
                encode_tlv(0xF0, self.card_identifier),
                encode_tlv(0xF1, bytes([self.container_version])),
                encode_tlv(0xF2, bytes([self.grammar_version])),
                encode_tlv(0xF3, b""),  # applications CardURL
                encode_tlv(0xF4, bytes([self.pkcs15])),
                encode_tlv(0xF5, bytes([self.data_model])),
                encode_tlv(0xF6, b""),  # access control rule table
                encode_tlv(0xF7, b""),  # card APDUs
                encode_tlv(0xFA, b""),  # redirection tag
                encode_tlv(0xFB, b""),  # capability tuples
                encode_tlv(0xFC, b""),  # status tuples
                encode_tlv(0xFD, b""),  # next CCC
                ERROR_DETECTION_CODE,
            ]
        )

    @classmethod
    def decode(cls, contents: bytes) -> Self:
        values = _values(contents)
        if 0xF0 not in values:
            msg = "the CCC lacks its card identifier (F0)"
            raise ValueError(msg)

        def byte(tag: int, default: int) -> int:
            return values[tag][0] if values.get(tag) else default

        return cls(
            card_identifier=values[0xF0],
            container_version=byte(0xF1, 0x21),
            grammar_version=byte(0xF2, 0x21),
            pkcs15=byte(0xF4, 0x00),
            data_model=byte(0xF5, 0x10),
        )


@dataclass(frozen=True)
class Discovery:
    """Discovery object (SP 800-73-4 Part 1 §3.3.2, Table 18); not 53-wrapped but 7E itself.

    PIN usage policy, first byte: 0x40 = the PIV PIN satisfies the ACRs. 0x08/0x04 (VCI) are
    never set: OpenSC would take the card for a secure-messaging one (piv-brief §5).
    """

    TAG: ClassVar[int] = ObjectTag.DISCOVERY

    pin_usage_policy: bytes = b"\x40\x00"

    def __post_init__(self) -> None:
        if len(self.pin_usage_policy) != 2:
            msg = "the PIN usage policy has 2 bytes"
            raise ValueError(msg)
        if self.pin_usage_policy[0] & 0x0C:
            msg = "virtual contact interface bits (0x08, 0x04) are not supported"
            raise ValueError(msg)

    def encode(self) -> bytes:
        return encode_tlv(0x4F, PIV_AID) + encode_tlv(0x5F2F, self.pin_usage_policy)

    @classmethod
    def decode(cls, contents: bytes) -> Self:
        values = _values(contents)
        if values.get(0x4F) != PIV_AID:
            msg = "the discovery object does not name the PIV application"
            raise ValueError(msg)
        return cls(pin_usage_policy=values.get(0x5F2F, b"\x40\x00"))


@dataclass(frozen=True)
class KeyHistory:
    """Key History object (SP 800-73-4 Part 1 §3.3.1, Table 19)."""

    TAG: ClassVar[int] = ObjectTag.KEY_HISTORY

    keys_with_on_card_certs: int = 0
    keys_with_off_card_certs: int = 0
    off_card_cert_url: str | None = None

    def __post_init__(self) -> None:
        total = self.keys_with_on_card_certs + self.keys_with_off_card_certs
        if min(self.keys_with_on_card_certs, self.keys_with_off_card_certs) < 0 or total > 20:
            msg = "a card has at most 20 retired keys"
            raise ValueError(msg)
        if self.keys_with_off_card_certs and not self.off_card_cert_url:
            msg = "off-card certificates need the off-card certificate URL"
            raise ValueError(msg)

    def encode(self) -> bytes:
        parts = [
            encode_tlv(0xC1, bytes([self.keys_with_on_card_certs])),
            encode_tlv(0xC2, bytes([self.keys_with_off_card_certs])),
        ]
        if self.off_card_cert_url:
            parts.append(encode_tlv(0xF3, self.off_card_cert_url.encode("ascii")))
        parts.append(ERROR_DETECTION_CODE)
        return b"".join(parts)

    @classmethod
    def decode(cls, contents: bytes) -> Self:
        values = _values(contents)
        on_card, off_card, url = values.get(0xC1), values.get(0xC2), values.get(0xF3)
        return cls(
            keys_with_on_card_certs=on_card[0] if on_card else 0,
            keys_with_off_card_certs=off_card[0] if off_card else 0,
            off_card_cert_url=url.decode("ascii") if url else None,
        )


_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


@dataclass(frozen=True)
class PrintedInformation:
    """Printed Information (SP 800-73-4 Part 1 §3.1.5, Table 13); reading it needs the PIN."""

    TAG: ClassVar[int] = ObjectTag.PRINTED_INFORMATION
    _LIMITS: ClassVar[dict[str, tuple[int, int]]] = {
        "name": (0x01, 125),
        "employee_affiliation": (0x02, 20),
        "agency_card_serial_number": (0x05, 20),
        "issuer_identification": (0x06, 15),
        "organization_affiliation_line_1": (0x07, 20),
        "organization_affiliation_line_2": (0x08, 20),
    }

    name: str
    employee_affiliation: str
    expiry: dt.date
    agency_card_serial_number: str
    issuer_identification: str
    organization_affiliation_line_1: str | None = None
    organization_affiliation_line_2: str | None = None

    def __post_init__(self) -> None:
        for name, (_tag, limit) in self._LIMITS.items():
            value = getattr(self, name)
            if value is None:
                continue
            encoded = value.encode("utf-8")
            if len(encoded) > limit:
                msg = f"printed information {name} has at most {limit} bytes"
                raise ValueError(msg)

    def encode(self) -> bytes:
        def text(name: str) -> bytes:
            return encode_tlv(self._LIMITS[name][0], getattr(self, name).encode("utf-8"))

        expiry = f"{self.expiry.year:04d}{_MONTHS[self.expiry.month - 1]}{self.expiry.day:02d}"
        parts = [text("name"), text("employee_affiliation"), encode_tlv(0x04, expiry.encode())]
        parts += [text("agency_card_serial_number"), text("issuer_identification")]
        for optional in ("organization_affiliation_line_1", "organization_affiliation_line_2"):
            if getattr(self, optional) is not None:
                parts.append(text(optional))
        parts.append(ERROR_DETECTION_CODE)
        return b"".join(parts)

    @classmethod
    def decode(cls, contents: bytes) -> Self:
        values = _values(contents)
        try:
            raw_expiry = values[0x04].decode("ascii")
            expiry = dt.date(
                int(raw_expiry[:4]), _MONTHS.index(raw_expiry[4:7]) + 1, int(raw_expiry[7:9])
            )
            texts = {
                name: values[tag].decode("utf-8") if tag in values else None
                for name, (tag, _limit) in cls._LIMITS.items()
            }
        except (KeyError, ValueError, UnicodeDecodeError):
            msg = "the printed information is not in the SP 800-73-4 format"
            raise ValueError(msg) from None
        required = ("name", "employee_affiliation", "agency_card_serial_number")
        if any(texts[name] is None for name in (*required, "issuer_identification")):
            msg = "the printed information lacks a mandatory field"
            raise ValueError(msg)
        return cls(expiry=expiry, **texts)  # type: ignore[arg-type]


# Certificates are a few KB; anything that inflates past this is not a certificate (zip bomb).
MAX_DECOMPRESSED_CERTIFICATE = 64 * 1024
CERT_INFO_GZIP = 0x01  # SP 800-73-4 Part 1 Table 10: CertInfo b0 = compression (gzip)


@dataclass(frozen=True)
class CertificateContainer:
    """X.509 certificate container (SP 800-73-4 Part 1 Tables 10, 15-17): `70` certificate,
    `71` CertInfo (`01` = gzip-compressed), `FE` error detection code."""

    certificate: x509.Certificate | None
    compressed: bool = False

    def encode(self) -> bytes:
        if self.certificate is None:
            return b""  # an empty 53 deletes the object (piv-brief §5)
        der = self.certificate.public_bytes(Encoding.DER)
        if self.compressed:
            # gzip with a fixed mtime of 0, so the same certificate always makes the same bytes
            compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
            der = compressor.compress(der) + compressor.flush()
        cert_info = CERT_INFO_GZIP if self.compressed else 0x00
        return encode_tlv(0x70, der) + encode_tlv(0x71, bytes([cert_info])) + ERROR_DETECTION_CODE

    @classmethod
    def decode(cls, contents: bytes) -> Self:
        if not contents:
            return cls(certificate=None)
        try:
            items = decode_all(contents)
        except TlvError as exc:
            msg = f"the certificate container is not BER-TLV: {exc}"
            raise ValueError(msg) from None
        cert = first(items, 0x70)
        info = first(items, 0x71)
        if cert is None or not cert.value:
            return cls(certificate=None)
        # OpenSC also reads b7 (0x80) as "compressed"; accept both
        compressed = bool(info and info.value and info.value[0] & (CERT_INFO_GZIP | 0x80))
        der = _gunzip(cert.value) if compressed else cert.value
        return cls(certificate=x509.load_der_x509_certificate(der), compressed=compressed)


def _gunzip(data: bytes) -> bytes:
    decompressor = zlib.decompressobj(31)
    try:
        der = decompressor.decompress(data, MAX_DECOMPRESSED_CERTIFICATE)
    except zlib.error as exc:
        msg = f"the compressed certificate is not valid gzip: {exc}"
        raise ValueError(msg) from None
    if decompressor.unconsumed_tail:
        msg = f"the compressed certificate inflates past {MAX_DECOMPRESSED_CERTIFICATE} bytes"
        raise ValueError(msg)
    return der
