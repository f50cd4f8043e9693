"""Encoder stations' certificates: a station enrols with a certificate signing request for the
key it generated on its own host (pki/station_keys.py); the platform never sees that key.

The certificate (profile `encoder-station`) is what the signer trusts a station by
(pki/envelopes.py): it checks the row this service records, so a certificate is a station's only
while its row is valid.
"""

from __future__ import annotations

import logging

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.db import transaction
from django.utils import timezone

from audit.events import EventType
from audit.services import audit_record
from config.errors import Conflict, FieldError, NotFound, ValidationFailed
from pki import profiles
from pki.models import Certificate, CertificateAuthority
from pki.services import Actor
from pki.services.signing import (
    ca_hash,
    ca_signing_key,
    certificate_row,
    current_ca,
    issuer_context,
)

logger = logging.getLogger(__name__)

# A P-256 CSR with a one-attribute subject is about 300 bytes of DER; this leaves room for PEM
# and extensions a tool may add, and refuses anything that cannot be one before parsing it.
MAX_CSR_BYTES = 8 * 1024


def _load_csr(csr_der_or_pem: bytes | str) -> x509.CertificateSigningRequest:
    data = (
        csr_der_or_pem.encode("ascii", errors="replace")
        if isinstance(csr_der_or_pem, str)
        else bytes(csr_der_or_pem)
    )
    if len(data) > MAX_CSR_BYTES:
        raise ValidationFailed([FieldError("csr", "too large to be a station's request")])
    data = data.strip()
    if b"PRIVATE KEY-----" in data:
        # Never parse it: a private key has no business here (and must not end up in a log).
        raise ValidationFailed(
            [FieldError("csr", "this is a private key; give the certificate request only")]
        )
    try:
        if data.startswith(b"-----BEGIN"):
            return x509.load_pem_x509_csr(data)
        return x509.load_der_x509_csr(data)
    except ValueError:
        raise ValidationFailed(
            [FieldError("csr", "not a certificate request (PKCS#10, PEM or DER expected)")]
        ) from None


def _check_csr(csr: x509.CertificateSigningRequest, station_name: str) -> ec.EllipticCurvePublicKey:
    """The CSR's public key, if the request is the station's own: its signature verifies (the
    requester holds the key), the key is EC P-256, and the subject is the station's name and
    nothing else (the certificate's subject is built here, never copied from the request)."""
    if not csr.is_signature_valid:
        raise ValidationFailed([FieldError("csr", "the request's signature does not verify")])
    public_key = csr.public_key()
    if not isinstance(public_key, ec.EllipticCurvePublicKey) or not isinstance(
        public_key.curve, ec.SECP256R1
    ):
        raise ValidationFailed([FieldError("csr", "a station's key must be EC P-256")])
    expected = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, station_name)])
    if csr.subject != expected:
        raise ValidationFailed(
            [
                FieldError(
                    "csr",
                    f"the request's subject must be CN={station_name} alone, "
                    f"not {csr.subject.rfc4514_string()!r}",
                )
            ]
        )
    return public_key


def _station_ca() -> CertificateAuthority:
    profile = profiles.PROFILES[profiles.ENCODER_STATION]
    purpose = profile.ca_purpose
    ca = current_ca(purpose) if purpose is not None else None
    if ca is None:
        raise NotFound(
            "no CA issues encoder station certificates yet; run `manage.py bootstrap_pki`",
            field="ca",
        )
    if ca.not_after <= timezone.now():
        raise Conflict(f"CA {ca.slug} has expired", field="ca")
    return ca


def station_certificate_issue(
    *, station_name: str, csr_der_or_pem: bytes | str, by: Actor = None
) -> Certificate:
    """Issue an encoder station's certificate (profile `encoder-station`, by the current
    authentication CA) for the key of its certificate signing request.

    The request must be signed by its key (EC P-256) and name the station alone (`CN=<name>`);
    the certificate's subject is the platform's organization and the station's name. Records the
    certificate and a STATION_CERTIFICATE_ISSUED event in one transaction; bad input raises
    ValidationFailed naming the field (`station_name`, `csr`) and changes nothing.
    """
    try:
        profiles.check_station_name(station_name)
    except ValueError as exc:
        raise ValidationFailed([FieldError("station_name", str(exc))]) from None
    public_key = _check_csr(_load_csr(csr_der_or_pem), station_name)
    profile = profiles.PROFILES[profiles.ENCODER_STATION]
    ca = _station_ca()
    now = timezone.now()
    certificate = profiles.build_certificate(
        profile,
        subject=profiles.station_subject(station_name),
        public_key=public_key,
        serial=x509.random_serial_number(),  # 159 random bits; RFC 5280 §4.1.2.2: ≤ 20 octets
        issuer=issuer_context(ca),
        now=now,
    ).sign(ca_signing_key(ca), ca_hash(ca))
    row = certificate_row(
        certificate, ca=ca, profile=Certificate.Profile.ENCODER_STATION, by=by, issued_at=now
    )
    with transaction.atomic():
        row.save()
        audit_record(
            event=EventType.STATION_CERTIFICATE_ISSUED,
            actor=by,
            obj=row,
            payload={
                "station": station_name,
                "serial": row.serial,
                "ca": ca.slug,
                "profile": row.profile,
                "subject": row.subject,
                "not_after": row.not_after.isoformat(),
                "fingerprint_sha256": row.fingerprint_sha256,
            },
        )
    logger.info("issued station certificate %s for %s by CA %s", row.serial, station_name, ca.slug)
    return row
