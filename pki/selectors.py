"""Reads for views, the API and commands."""

from __future__ import annotations

from cryptography import x509
from django.db.models import QuerySet

from config.errors import NotFound
from pki import profiles
from pki.models import (
    Certificate,
    CertificateAuthority,
    CertificateRevocationList,
    RevocationRequest,
)
from pki.x509util import parse_serial


def ca_list() -> QuerySet[CertificateAuthority]:
    return CertificateAuthority.objects.select_related("parent", "current_crl").order_by(
        "parent_id", "slug"
    )


def ca_get(*, slug: str) -> CertificateAuthority:
    ca = ca_list().filter(slug=slug).first()
    if ca is None:
        raise NotFound(f"no CA {slug!r}", field="ca")
    return ca


def crl_current(*, ca_slug: str) -> CertificateRevocationList | None:
    return CertificateRevocationList.objects.filter(ca__slug=ca_slug).first()


def certificate_list(
    *,
    professional: str | None = None,
    status: str | None = None,
    profile: str | None = None,
    ca: str | None = None,
    serial: str | None = None,
) -> QuerySet[Certificate]:
    """Certificates, newest first. `professional` is an RPPS number; `status` one of valid,
    on_hold, revoked or expired; `ca` a CA slug; `serial` hex."""
    queryset = Certificate.objects.select_related("ca", "professional")
    if professional:
        queryset = queryset.filter(professional__rpps=professional)
    if status == "expired":
        queryset = queryset.expired()
    elif status == Certificate.Status.VALID:
        queryset = queryset.valid()
    elif status:
        queryset = queryset.filter(status=status)
    if profile:
        queryset = queryset.filter(profile=profile)
    if ca:
        queryset = queryset.filter(ca__slug=ca)
    if serial:
        queryset = queryset.filter(serial=parse_serial(serial))
    return queryset


def certificate_get(*, pk: int) -> Certificate:
    certificate = Certificate.objects.select_related("ca", "professional").filter(pk=pk).first()
    if certificate is None:
        raise NotFound(f"no certificate #{pk}")
    return certificate


def certificate_get_by_serial(*, serial: str, ca_slug: str | None = None) -> Certificate:
    """One certificate by serial number (hex); `ca_slug` when serials collide across CAs."""
    matches = certificate_list(serial=serial, ca=ca_slug)[:2]
    if not matches:
        raise NotFound(f"no certificate with serial {serial}", field="serial")
    if len(matches) > 1:
        raise NotFound(f"serial {serial} exists under several CAs; name the CA", field="ca")
    return matches[0]


def revocation_request_list(
    *, status: str | None = None, certificate: int | None = None
) -> QuerySet[RevocationRequest]:
    queryset = RevocationRequest.objects.select_related(
        "certificate", "certificate__ca", "requested_by", "decided_by"
    )
    if status:
        queryset = queryset.filter(status=status)
    if certificate:
        queryset = queryset.filter(certificate_id=certificate)
    return queryset


def revocation_request_get(*, pk: int) -> RevocationRequest:
    found = revocation_request_list().filter(pk=pk).first()
    if found is None:
        raise NotFound(f"no revocation request #{pk}")
    return found


def station_ca_certificates() -> list[x509.Certificate]:
    """The certificates of the CAs whose encoder station certificates are trusted (the
    `trusted_issuers` of pki.envelopes.request_verify): every unexpired CA of the station
    profile's purpose, current or not, so a CA rollover does not cut off stations enrolled
    before it."""
    purpose = profiles.PROFILES[profiles.ENCODER_STATION].ca_purpose
    return [
        x509.load_der_x509_certificate(bytes(der))
        for der in CertificateAuthority.objects.unexpired()
        .filter(purpose=purpose)
        .values_list("certificate_der", flat=True)
    ]
