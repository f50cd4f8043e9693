"""What the PKI services share about CAs: their signing key and their parsed certificate."""

from __future__ import annotations

import functools

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from pki.key_backends import KeyAlgorithm, key_backend
from pki.models import CertificateAuthority
from pki.profiles import IssuerContext


@functools.lru_cache(maxsize=256)
def _parse_certificate(fingerprint: str, der: bytes) -> x509.Certificate:
    return x509.load_der_x509_certificate(der)


def ca_certificate(ca: CertificateAuthority) -> x509.Certificate:
    return _parse_certificate(ca.fingerprint_sha256, bytes(ca.certificate_der))


def ca_signing_key(ca: CertificateAuthority):
    """The CA's private key as a signing object of its key backend (never exportable)."""
    return key_backend(ca.key_backend).private_key(ca.key_handle)


def ca_hash(ca: CertificateAuthority) -> hashes.HashAlgorithm:
    return KeyAlgorithm(ca.key_algorithm).signature_hash


def issuer_context(ca: CertificateAuthority) -> IssuerContext:
    certificate = ca_certificate(ca)
    return IssuerContext(
        slug=ca.slug,
        name=certificate.subject,
        public_key=certificate.public_key(),
        not_after=certificate.not_valid_after_utc,
    )
