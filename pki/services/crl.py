"""CRL generation (RFC 5280 §5): full CRLs with a CRL number, AKI and a reason code per entry.

The CA row is locked while a CRL is made, so CRL numbers strictly increase and two generations
never interleave; a generation asked for at time T is skipped when a CRL begun after T exists
(a burst of revocations yields one CRL, not one each).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from audit.events import EventType
from audit.services import audit_record
from pki import der
from pki.key_backends import key_backend
from pki.models import Certificate, CertificateAuthority, CertificateRevocationList
from pki.services import Actor
from pki.services.signing import ca_certificate, ca_hash, ca_signing_key

logger = logging.getLogger(__name__)


def crl_entries(
    ca: CertificateAuthority, *, this_update: dt.datetime
) -> QuerySet[Certificate, bytes | memoryview | None]:
    """The stored revokedCertificates entries of `ca`'s next CRL.

    RFC 5280 §3.3: an entry stays until it has appeared on one regularly scheduled CRL issued
    after the certificate expired; keeping it for one CRL validity period after expiry covers
    that, because CRLs are refreshed more often than they expire (settings check).
    """
    kept_until = this_update - dt.timedelta(hours=settings.PKI_CRL_VALIDITY_HOURS)
    return (
        Certificate.objects.filter(
            ca=ca,
            status__in=[Certificate.Status.REVOKED, Certificate.Status.ON_HOLD],
            not_after__gt=kept_until,
        )
        .order_by("pk")
        .values_list("crl_entry", flat=True)
    )


def crl_generate(
    *, ca: CertificateAuthority, by: Actor = None, requested_at: dt.datetime | None = None
) -> CertificateRevocationList:
    """Issue `ca`'s next CRL and make it the one served. With `requested_at`, return the current
    CRL unchanged if its generation began at or after that moment."""
    with transaction.atomic():
        ca = CertificateAuthority.objects.select_for_update(no_key=True).get(pk=ca.pk)
        current = CertificateRevocationList.objects.filter(ca=ca).first()
        if (
            requested_at is not None
            and current is not None
            and current.generated_at >= (requested_at)
        ):
            return current
        generated_at = timezone.now()
        this_update = generated_at.replace(microsecond=0)
        next_update = this_update + dt.timedelta(hours=settings.PKI_CRL_VALIDITY_HOURS)
        number = ca.crl_number + 1

        signing_key = ca_signing_key(ca)
        algorithm = ca_hash(ca)
        issuer = ca_certificate(ca)
        # cryptography encodes the CRL without entries (version, algorithm, issuer, times and
        # extensions exactly as RFC 5280 §5.1 orders them); the stored entries go in after.
        shell = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(issuer.subject)
            .last_update(this_update)
            .next_update(next_update)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
                    issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
                ),
                critical=False,
            )
            .add_extension(x509.CRLNumber(number), critical=False)
            .sign(signing_key, algorithm)
        )
        shell_der = shell.public_bytes(serialization.Encoding.DER)
        signature_algorithm = der.children(shell_der)[1]
        # The CHECK pki_certificate_revocation_complete gives every revoked or held certificate
        # its entry; the column is nullable only for valid ones, which are not selected here.
        entries = [
            bytes(entry) for entry in crl_entries(ca, this_update=this_update) if entry is not None
        ]
        tbs = der.splice_revoked_certificates(shell.tbs_certlist_bytes, entries)
        signature = key_backend(ca.key_backend).sign(ca.key_handle, tbs, algorithm=algorithm)
        crl_der = der.signed_structure(tbs, signature_algorithm, signature)
        digest = hashlib.sha256(crl_der).hexdigest()

        crl, _ = CertificateRevocationList.objects.update_or_create(
            ca=ca,
            defaults={
                "number": number,
                "this_update": this_update,
                "next_update": next_update,
                "entries": len(entries),
                "sha256": digest,
                "der": crl_der,
                "generated_at": generated_at,
            },
        )
        ca.crl_number = number
        ca.save(update_fields=["crl_number"])
        audit_record(
            event=EventType.CRL_GENERATED,
            actor=by,
            obj=crl,
            payload={
                "ca": ca.slug,
                "number": number,
                "entries": len(entries),
                "this_update": this_update.isoformat(),
                "next_update": next_update.isoformat(),
                "sha256": digest,
            },
        )
    logger.info("CRL %s of CA %s: %s entries", number, ca.slug, len(entries))
    return crl


def crls_generate(*, by: Actor = None) -> list[CertificateRevocationList]:
    """A fresh CRL for every CA that has not expired (the periodic task and `generate_crls`)."""
    return [crl_generate(ca=ca, by=by) for ca in CertificateAuthority.objects.unexpired()]
