"""Yubico-style key attestation (INS F9): a certificate, signed by the card's attestation key
(F9), for the public key of a slot whose key was generated on the card.

The attestation key and its certificate are made with the card (the "factory") and survive
RESET, as a YubiKey's do. The attestation certificate sits in object 5FFF01. As Yubico's PIV
attestation CA signs every YubiKey's F9 certificate, the emulator factory's root
(`AttestationRoot`, given by whoever makes blank cards) signs each new card's; a card made
without one signs its own, and no verifier that trusts only configured roots accepts it.
Extensions follow Yubico's: 1.3.6.1.4.1.41482.3.3 firmware version, .3.7 serial, .3.8 PIN/touch
policy.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from cardedge.piv.algorithms import PublicKey

YUBICO_FIRMWARE_OID = x509.ObjectIdentifier("1.3.6.1.4.1.41482.3.3")
YUBICO_SERIAL_OID = x509.ObjectIdentifier("1.3.6.1.4.1.41482.3.7")
YUBICO_POLICY_OID = x509.ObjectIdentifier("1.3.6.1.4.1.41482.3.8")
ATTESTATION_VALIDITY = dt.timedelta(days=365 * 20)
ROOT_VALIDITY = dt.timedelta(days=365 * 30)
ROOT_NAME = "CardForge Emulator PIV Attestation Root"


@dataclass(frozen=True, repr=False)
class AttestationRoot:
    """The emulator factory's attestation CA: its key signs each new card's F9 certificate.

    The private key is the factory's secret: `to_pem` is for the file it is kept in, and the
    repr names the certificate's subject only."""

    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    def __repr__(self) -> str:
        return f"AttestationRoot({self.certificate.subject.rfc4514_string()})"

    def certificate_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def to_pem(self) -> bytes:
        """The private key (PKCS#8, unencrypted: protect the file) followed by the certificate."""
        key = self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return key + self.certificate_pem()

    @classmethod
    def from_pem(cls, data: bytes) -> AttestationRoot:
        """Read what `to_pem` wrote; ValueError (naming no key material) if it is not that."""
        try:
            key = serialization.load_pem_private_key(data, password=None)
            certificates = x509.load_pem_x509_certificates(data)
        except ValueError:
            msg = "not a PEM private key followed by its certificate"
            raise ValueError(msg) from None
        if not isinstance(key, ec.EllipticCurvePrivateKey) or len(certificates) != 1:
            msg = "expected one EC private key and one certificate"
            raise ValueError(msg)
        certificate = certificates[0]
        if certificate.public_key() != key.public_key():
            msg = "the certificate is not the private key's"
            raise ValueError(msg)
        return cls(key, certificate)


def make_attestation_root(name: str = ROOT_NAME) -> AttestationRoot:
    """A new factory root: a P-256 key and its self-signed CA certificate."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "CardForge emulated cards"),
            x509.NameAttribute(NameOID.COMMON_NAME, name),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + ROOT_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return AttestationRoot(key, certificate)


def _der_integer(value: int) -> bytes:
    body = value.to_bytes(value.bit_length() // 8 + 1, "big")
    return bytes([0x02, len(body)]) + body


def make_attestation_authority(
    serial: int, root: AttestationRoot | None = None
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A new card's attestation key (F9) and its certificate, signed by the factory `root`
    (self-signed without one)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "CardForge emulated card"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"CardForge PIV Attestation {serial}"),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    not_after = now + ATTESTATION_VALIDITY
    issuer_name, signing_key = name, key
    builder = x509.CertificateBuilder()
    if root is not None:
        issuer_name, signing_key = root.certificate.subject, root.key
        not_after = min(not_after, root.certificate.not_valid_after_utc)
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root.key.public_key()),
            critical=False,
        )
    certificate = (
        builder.subject_name(name)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(signing_key, hashes.SHA256())
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
