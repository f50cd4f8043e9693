"""The platform's own signing keys (PlatformSigner): one signs the audit trail's checkpoints
(docs/audit.md), one the auditor reports. Each key is made in the signer's key backend (the KEK's
software backend, or the HSM), and certified by the authentication CA with id-kp-documentSigning
under the platform's policy arc (pki/profiles.py). Only the signer's process can use them.
"""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from django.db import transaction
from django.utils import timezone

from audit.events import EventType
from audit.services import audit_record
from config.errors import NotFound
from pki import profiles
from pki.key_backends import KeyAlgorithm, key_backend
from pki.key_backends.base import SupportedPrivateKey
from pki.models import CertificateAuthority, PlatformSigner
from pki.services import Actor
from pki.services.signing import (
    ca_certificate,
    ca_hash,
    ca_signing_key,
    certificate_row,
    current_ca,
    issuer_context,
    renewal_due,
)

_PROFILE = {
    PlatformSigner.Purpose.AUDIT_CHECKPOINTS: (profiles.AUDIT_SIGNING, "Audit Checkpoints"),
    PlatformSigner.Purpose.REPORTS: (profiles.DOCUMENT_SIGNING, "Reports"),
}


def platform_signer_create(
    *,
    purpose: str,
    backend_alias: str | None = None,
    by: Actor = None,
    now: dt.datetime | None = None,
) -> PlatformSigner:
    """A new key for `purpose` in `backend_alias` (default: the authentication CA's backend)
    and its certificate from the current authentication CA; it replaces the current one."""
    now = now or timezone.now()
    ca = current_ca(CertificateAuthority.Purpose.AUTHENTICATION)
    if ca is None:
        raise NotFound("no authentication CA yet; run `manage.py bootstrap_pki`", field="ca")
    profile_name, title = _PROFILE[PlatformSigner.Purpose(purpose)]
    backend = key_backend(backend_alias or ca.key_backend)
    with transaction.atomic():
        handle = backend.create_key(
            label=f"platform-{purpose}-{now.strftime('%Y%m%d%H%M%S%f')}",
            algorithm=KeyAlgorithm(ca.key_algorithm),
        )
        certificate = profiles.build_certificate(
            profiles.PROFILES[profile_name],
            subject=profiles.ca_name(f"CardForge {title}"),
            public_key=backend.public_key(handle),
            serial=x509.random_serial_number(),
            issuer=issuer_context(ca),
            now=now,
        ).sign(ca_signing_key(ca), ca_hash(ca))
        row = certificate_row(certificate, ca=ca, profile=profile_name, by=by, issued_at=now)
        row.save()
        PlatformSigner.objects.filter(purpose=purpose, is_current=True).update(is_current=False)
        signer = PlatformSigner.objects.create(
            purpose=purpose, certificate=row, key_backend=backend.alias, key_handle=handle
        )
        audit_record(
            event=EventType.PLATFORM_SIGNER_CREATED,
            actor=by,
            obj=signer,
            payload={
                "purpose": purpose,
                "serial": row.serial,
                "ca": ca.slug,
                "not_after": row.not_after.isoformat(),
                "fingerprint_sha256": row.fingerprint_sha256,
                "key_backend": signer.key_backend,
            },
        )
    return signer


def platform_signers_ensure(
    *, backend_alias: str | None = None, by: Actor = None, now: dt.datetime | None = None
) -> list[PlatformSigner]:
    """A current signer for every purpose, renewed when close to expiry (pki_bootstrap, and the
    daily renewal task); returns those made now."""
    now = now or timezone.now()
    made = []
    for purpose in PlatformSigner.Purpose:
        current = (
            PlatformSigner.objects.select_related("certificate")
            .current()
            .filter(purpose=purpose)
            .first()
        )
        if renewal_due(current.certificate if current else None, now):
            made.append(
                platform_signer_create(purpose=purpose, backend_alias=backend_alias, by=by, now=now)
            )
    return made


def platform_signer_current(purpose: str) -> PlatformSigner:
    signer = (
        PlatformSigner.objects.select_related("certificate__ca")
        .current()
        .filter(purpose=purpose)
        .first()
    )
    if signer is None:
        raise NotFound(
            f"no platform key signs {purpose} yet; run `manage.py bootstrap_pki`", field="purpose"
        )
    return signer


def platform_signing_key(signer: PlatformSigner) -> SupportedPrivateKey:
    """The signer's private key as a signing object of its backend (never exportable)."""
    return key_backend(signer.key_backend).private_key(signer.key_handle)


def platform_sign(signer: PlatformSigner, data: bytes) -> bytes:
    """`data` signed with SHA-256 as `openssl dgst -sha256 -sign` does: ECDSA (DER) or RSA
    PKCS#1 v1.5."""
    return sha256_signature(platform_signing_key(signer), data)


def sha256_signature(key: SupportedPrivateKey, data: bytes) -> bytes:
    """`platform_sign` with the key object already at hand (no database access: what an
    asyncio caller such as pyHanko needs)."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(hashes.SHA256()))
    return key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def platform_certificate_chain(signer: PlatformSigner) -> list[x509.Certificate]:
    """The signer's certificate, then its issuing CA and that CA's issuers up to the root."""
    chain = [x509.load_der_x509_certificate(bytes(signer.certificate.der))]
    ca: CertificateAuthority | None = signer.certificate.ca
    while ca is not None:
        chain.append(ca_certificate(ca))
        ca = ca.parent
    return chain


def platform_certificate_chain_pem(signer: PlatformSigner) -> bytes:
    return b"".join(
        certificate.public_bytes(serialization.Encoding.PEM)
        for certificate in platform_certificate_chain(signer)
    )
