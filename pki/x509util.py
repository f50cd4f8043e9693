"""Small X.509 helpers shared by services, views, commands and tests."""

from __future__ import annotations

import base64
import hashlib
import textwrap

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from config.errors import FieldError, ValidationFailed
from pki.key_backends.base import KeyAlgorithm, SupportedPublicKey, supported_public_key

MAX_PUBLIC_KEY_BYTES = 16 * 1024


def der_to_pem(der: bytes, label: str) -> str:
    body = "\n".join(textwrap.wrap(base64.b64encode(der).decode("ascii"), 64))
    return f"-----BEGIN {label}-----\n{body}\n-----END {label}-----\n"


def fingerprint_sha256(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()


def serial_hex(serial: int) -> str:
    """The stored form of a serial number: upper-case hex in whole octets, as openssl prints it
    (0EAC3..., never EAC3...)."""
    text = format(serial, "X")
    return text if len(text) % 2 == 0 else "0" + text


def parse_serial(text: str, *, field: str = "serial") -> str:
    """A serial number given by a user (hex, optionally with colons or 0x) in its stored form."""
    cleaned = text.strip().replace(":", "").lower().removeprefix("0x")
    try:
        number = int(cleaned, 16)
    except ValueError:
        raise ValidationFailed(
            [FieldError(field, f"{text!r} is not a hexadecimal serial number")]
        ) from None
    return serial_hex(number)


def load_public_key(
    data: bytes | str | PublicKeyTypes, *, field: str = "public_key"
) -> SupportedPublicKey:
    """A supported public key from a `cryptography` object, PEM (SubjectPublicKeyInfo, or a
    certificate signing request whose key is taken) or DER SubjectPublicKeyInfo. Anything else is
    a ValidationFailed naming `field`."""
    if isinstance(data, str):
        data = data.encode("utf-8", errors="replace")
    if isinstance(data, bytes):
        if len(data) > MAX_PUBLIC_KEY_BYTES:
            raise ValidationFailed([FieldError(field, "too large to be a public key")])
        key = _parse_public_key_bytes(data, field)
    else:
        key = data
    try:
        supported = supported_public_key(key)
        KeyAlgorithm.of(supported)
    except ValueError as exc:
        raise ValidationFailed([FieldError(field, str(exc))]) from None
    return supported


def _parse_public_key_bytes(data: bytes, field: str) -> PublicKeyTypes:
    stripped = data.strip()
    if stripped.startswith(b"-----BEGIN"):
        if b"-----BEGIN CERTIFICATE REQUEST-----" in stripped:
            try:
                csr = x509.load_pem_x509_csr(stripped)
            except ValueError:
                raise ValidationFailed(
                    [FieldError(field, "the PEM certificate request does not parse")]
                ) from None
            if not csr.is_signature_valid:
                raise ValidationFailed(
                    [FieldError(field, "the certificate request's signature does not verify")]
                )
            return csr.public_key()
        if b"PRIVATE KEY-----" in stripped:
            # Never parse it: a private key has no business here (and must not end up in a log).
            raise ValidationFailed(
                [FieldError(field, "this is a private key; give the public key only")]
            )
        try:
            return serialization.load_pem_public_key(stripped)
        except (ValueError, TypeError):
            raise ValidationFailed(
                [
                    FieldError(
                        field,
                        "not a PEM public key (expected -----BEGIN PUBLIC KEY----- "
                        "SubjectPublicKeyInfo)",
                    )
                ]
            ) from None
    try:
        return serialization.load_der_public_key(stripped)
    except (ValueError, TypeError):
        raise ValidationFailed(
            [FieldError(field, "not a public key (PEM or DER SubjectPublicKeyInfo expected)")]
        ) from None


def public_key_der(key: PublicKeyTypes) -> bytes:
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
