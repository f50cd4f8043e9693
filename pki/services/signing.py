"""What the PKI services share about CAs: their signing key and their parsed certificate."""

from __future__ import annotations

import datetime as dt
import functools
import threading
import time

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.db.models.signals import post_save
from django.dispatch import receiver

from pki.key_backends import KeyAlgorithm, key_backend
from pki.key_backends.base import (
    SignatureHash,
    SupportedPrivateKey,
    supported_public_key,
)
from pki.models import Certificate, CertificateAuthority
from pki.profiles import IssuerContext
from pki.services import Actor, acting_user
from pki.x509util import fingerprint_sha256, serial_hex

# The current CA of each purpose, looked up at most this often per process. A CA rotation made
# in this process is seen at once (post_save below); other processes see it within this delay,
# during which they go on issuing from the previous CA, which is still valid.
CURRENT_CA_RELOAD_SECONDS = 10.0
_current_lock = threading.Lock()
_current: dict[str, tuple[float, CertificateAuthority]] = {}


def current_ca(purpose: str) -> CertificateAuthority | None:
    """The CA issuing new certificates of `purpose` (CertificateAuthority.is_current)."""
    with _current_lock:
        cached = _current.get(purpose)
    if cached is not None and time.monotonic() - cached[0] < CURRENT_CA_RELOAD_SECONDS:
        return cached[1]
    ca = CertificateAuthority.objects.current().filter(purpose=purpose).first()
    if ca is not None:
        with _current_lock:
            _current[purpose] = (time.monotonic(), ca)
    return ca


def forget_current_cas() -> None:
    with _current_lock:
        _current.clear()


@receiver(post_save, sender=CertificateAuthority)
def _ca_saved(**kwargs: object) -> None:
    forget_current_cas()


@functools.lru_cache(maxsize=256)
def _parse_certificate(fingerprint: str, der: bytes) -> x509.Certificate:
    return x509.load_der_x509_certificate(der)


def ca_certificate(ca: CertificateAuthority) -> x509.Certificate:
    return _parse_certificate(ca.fingerprint_sha256, bytes(ca.certificate_der))


def ca_signing_key(ca: CertificateAuthority) -> SupportedPrivateKey:
    """The CA's private key as a signing object of its key backend (never exportable)."""
    return key_backend(ca.key_backend).private_key(ca.key_handle)


def ca_hash(ca: CertificateAuthority) -> SignatureHash:
    return KeyAlgorithm(ca.key_algorithm).signature_hash


def issuer_context(ca: CertificateAuthority) -> IssuerContext:
    certificate = ca_certificate(ca)
    try:
        public_key = supported_public_key(certificate.public_key())
    except ValueError as exc:
        msg = f"CA {ca.slug}: {exc}"
        raise ValueError(msg) from None
    return IssuerContext(
        slug=ca.slug,
        name=certificate.subject,
        public_key=public_key,
        not_after=certificate.not_valid_after_utc,
    )


def certificate_row(
    certificate: x509.Certificate,
    *,
    ca: CertificateAuthority,
    profile: str,
    by: Actor,
    **fields: object,
) -> Certificate:
    """The (unsaved) row of a certificate `ca` has just signed: what identifies it read from the
    certificate itself, `fields` for the rest (issued_at, card slot, professional...)."""
    der = certificate.public_bytes(serialization.Encoding.DER)
    return Certificate(
        ca=ca,
        serial=serial_hex(certificate.serial_number),
        profile=profile,
        subject=certificate.subject.rfc4514_string(),
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
        fingerprint_sha256=fingerprint_sha256(der),
        der=der,
        issued_by=acting_user(by),
        **fields,
    )


# A platform certificate (an OCSP responder's, the platform's own signing keys) is replaced when
# less than this share of its lifetime remains.
RENEWAL_SHARE = 0.25


def renewal_due(certificate: Certificate | None, now: dt.datetime) -> bool:
    """No certificate yet, or less than RENEWAL_SHARE of its lifetime left."""
    if certificate is None:
        return True
    lifetime = certificate.not_after - certificate.not_before
    return certificate.not_after - now < lifetime * RENEWAL_SHARE
