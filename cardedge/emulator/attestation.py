"""Yubico-style key attestation (INS F9): a certificate, signed by the card's attestation key
(F9), for the public key of a slot whose key was generated on the card.

The attestation key and its self-signed certificate are made with the card (the "factory") and
survive RESET, as a YubiKey's do. The attestation certificate sits in object 5FFF01. Extensions
follow Yubico's: 1.3.6.1.4.1.41482.3.3 firmware version, .3.7 serial, .3.8 PIN/touch policy.
"""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from cardedge.piv.algorithms import PublicKey

YUBICO_FIRMWARE_OID = x509.ObjectIdentifier("1.3.6.1.4.1.41482.3.3")
YUBICO_SERIAL_OID = x509.ObjectIdentifier("1.3.6.1.4.1.41482.3.7")
YUBICO_POLICY_OID = x509.ObjectIdentifier("1.3.6.1.4.1.41482.3.8")
ATTESTATION_VALIDITY = dt.timedelta(days=365 * 20)


def _der_integer(value: int) -> bytes:
    body = value.to_bytes(value.bit_length() // 8 + 1, "big")
    return bytes([0x02, len(body)]) + body


def make_attestation_authority(serial: int) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "CardForge emulated card"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"CardForge PIV Attestation {serial}"),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + ATTESTATION_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, certificate


def attest(
    *,
    authority_key: ec.EllipticCurvePrivateKey,
    authority_certificate: x509.Certificate,
    slot: int,
    public_key: PublicKey,
    serial: int,
    version: tuple[int, int, int],
    pin_policy: int,
    touch_policy: int,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [x509.NameAttribute(NameOID.COMMON_NAME, f"CardForge PIV Attestation {slot:02x}")]
            )
        )
        .issuer_name(authority_certificate.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(authority_certificate.not_valid_after_utc)
        .add_extension(
            x509.UnrecognizedExtension(YUBICO_FIRMWARE_OID, bytes(version)), critical=False
        )
        .add_extension(
            x509.UnrecognizedExtension(YUBICO_SERIAL_OID, _der_integer(serial)), critical=False
        )
        .add_extension(
            x509.UnrecognizedExtension(YUBICO_POLICY_OID, bytes([pin_policy, touch_policy])),
            critical=False,
        )
        .sign(authority_key, hashes.SHA256())
    )
