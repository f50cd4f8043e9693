"""The few DER encodings CRL generation needs at scale (ITU-T X.690 §8, §10).

A CRL with 100,000 entries built through `cryptography`'s CRL builder costs seconds of Python
object churn. Instead each revoked certificate's entry is encoded once, at revocation
(`crl_entry_der`), and a CRL is `cryptography`'s own encoding of the CRL without entries with
the stored entries spliced in (`splice_revoked_certificates`), then signed by the CA's key.
Tests parse the result with `cryptography` and `openssl crl` to hold it to RFC 5280.
"""

from __future__ import annotations

from datetime import UTC, datetime

_SEQUENCE = 0x30
_INTEGER = 0x02
_UTC_TIME = 0x17
_GENERALIZED_TIME = 0x18
_BIT_STRING = 0x03
_CRL_EXTENSIONS_TAG = 0xA0  # [0] EXPLICIT crlExtensions of TBSCertList (RFC 5280 §5.1)
# Extension { extnID id-ce-cRLReasons (2.5.29.21), extnValue OCTET STRING { ENUMERATED } }
_REASON_EXTENSION_PREFIX = bytes.fromhex("300a0603551d1504030a01")


def encode_length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def tlv(tag: int, value: bytes) -> bytes:
    return bytes([tag]) + encode_length(len(value)) + value


def encode_integer(number: int) -> bytes:
    if number < 0:
        msg = "only non-negative integers are encoded here"
        raise ValueError(msg)
    body = number.to_bytes(max(1, (number.bit_length() + 8) // 8), "big")
    return tlv(_INTEGER, body)


def encode_time(moment: datetime) -> bytes:
    """RFC 5280 §4.1.2.5 / §5.1.2.6: UTCTime through 2049, GeneralizedTime from 2050, in UTC
    with seconds and no fraction."""
    moment = moment.astimezone(UTC)
    if moment.year < 2050:
        return tlv(_UTC_TIME, moment.strftime("%y%m%d%H%M%SZ").encode("ascii"))
    return tlv(_GENERALIZED_TIME, moment.strftime("%Y%m%d%H%M%SZ").encode("ascii"))


def crl_entry_der(serial: int, revoked_at: datetime, reason: int) -> bytes:
    """One revokedCertificates entry (RFC 5280 §5.1.2.6) with its reasonCode entry extension,
    which §5.3.1 says to leave out for `unspecified` (0)."""
    body = encode_integer(serial) + encode_time(revoked_at)
    if reason != 0:
        body += tlv(_SEQUENCE, _REASON_EXTENSION_PREFIX + bytes([reason]))
    return tlv(_SEQUENCE, body)


def read_tlv(data: bytes, offset: int) -> tuple[int, int, int]:
    """(tag, start of value, end of value) of the DER element at `offset`."""
    tag = data[offset]
    first = data[offset + 1]
    if first < 0x80:
        return tag, offset + 2, offset + 2 + first
    count = first & 0x7F
    length = int.from_bytes(data[offset + 2 : offset + 2 + count], "big")
    start = offset + 2 + count
    return tag, start, start + length


def children(data: bytes) -> list[bytes]:
    """The encoded elements inside the constructed element that is `data`."""
    _, start, end = read_tlv(data, 0)
    found = []
    offset = start
    while offset < end:
        _, _, value_end = read_tlv(data, offset)
        found.append(data[offset:value_end])
        offset = value_end
    return found


def splice_revoked_certificates(tbs_cert_list: bytes, entries: list[bytes] | bytes) -> bytes:
    """A TBSCertList without revokedCertificates, with `entries` (DER, concatenated or listed)
    inserted where RFC 5280 §5.1 puts them: after nextUpdate, before [0] crlExtensions."""
    joined = entries if isinstance(entries, bytes) else b"".join(entries)
    parts = children(tbs_cert_list)
    if any(part[0] == _SEQUENCE and index >= 5 for index, part in enumerate(parts)):
        msg = "the TBSCertList already lists revoked certificates"
        raise ValueError(msg)
    if not joined:
        return tbs_cert_list
    revoked = tlv(_SEQUENCE, joined)
    position = next(
        (index for index, part in enumerate(parts) if part[0] == _CRL_EXTENSIONS_TAG), len(parts)
    )
    parts.insert(position, revoked)
    return tlv(_SEQUENCE, b"".join(parts))


def signed_structure(tbs: bytes, signature_algorithm: bytes, signature: bytes) -> bytes:
    """SEQUENCE { tbs, signatureAlgorithm, BIT STRING signature } (RFC 5280 §4.1, §5.1)."""
    return tlv(_SEQUENCE, tbs + signature_algorithm + tlv(_BIT_STRING, b"\x00" + signature))
