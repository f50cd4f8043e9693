"""Issuing a certificate for a public key generated on a card (the platform never sees the
private key)."""

from __future__ import annotations

import logging

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone

from audit.events import EventType
from audit.services import audit_record
from config.errors import Conflict, FieldError, NotFound, ValidationFailed
from pki import profiles
from pki.models import Certificate, CertificateAuthority
from pki.services.signing import ca_hash, ca_signing_key, issuer_context
from pki.x509util import fingerprint_sha256, load_public_key, serial_hex

logger = logging.getLogger(__name__)


def _profile(name: str) -> profiles.CertificateProfile:
    if name not in profiles.END_ENTITY_PROFILES:
        known = ", ".join(profiles.END_ENTITY_PROFILES)
        raise ValidationFailed(
            [FieldError("profile", f"unknown certificate profile {name!r} (use one of {known})")]
        )
    return profiles.PROFILES[name]


def _issuing_ca(
    profile: profiles.CertificateProfile, ca: CertificateAuthority | None
) -> CertificateAuthority:
    if ca is None:
        ca = CertificateAuthority.objects.current().filter(purpose=profile.ca_purpose).first()
        if ca is None:
            raise NotFound(
                f"no CA issues {profile.name} certificates yet; run `manage.py bootstrap_pki`",
                field="ca",
            )
    elif ca.purpose != profile.ca_purpose:
        raise ValidationFailed(
            [FieldError("ca", f"CA {ca.slug} does not issue {profile.name} certificates")]
        )
    if ca.not_after <= timezone.now():
        raise Conflict(f"CA {ca.slug} has expired", field="ca")
    return ca


def _check_professional(professional) -> None:
    if professional is None or getattr(professional, "pk", None) is None:
        raise ValidationFailed(
            [FieldError("professional", "a registered professional is required")]
        )
    problems = [
        FieldError(f"professional.{name}", "is required in a certificate subject")
        for name in ("rpps", "last_name", "first_name", "country")
        if not str(getattr(professional, name, "") or "").strip()
    ]
    if problems:
        raise ValidationFailed(problems)


def certificate_issue(
    *,
    public_key: PublicKeyTypes | bytes | str,
    profile: str,
    professional,
    card=None,
    slot: str | None = None,
    by=None,
    ca: CertificateAuthority | None = None,
) -> Certificate:
    """Issue a certificate of `profile` for `public_key` to `professional`.

    `public_key`: a `cryptography` public key, or PEM / DER SubjectPublicKeyInfo (EC P-256/P-384,
    RSA-2048/3072). `card`: the card the key lives on, recorded as a generic reference when given.
    `slot`: the PIV slot, which must be the profile's (9A, 9C, 9D, 9E); defaults to it. `ca`: the
    issuing CA, by default the current CA of the profile's purpose. `by`: the user, or None for
    the system (a personalization job). Records the certificate and a CERTIFICATE_ISSUED event in
    one transaction; raises ValidationFailed naming the field for bad input.
    """
    chosen = _profile(profile)
    key = load_public_key(public_key, field="public_key")
    try:
        profiles.check_public_key(chosen, key)
    except ValueError as exc:
        raise ValidationFailed([FieldError("public_key", str(exc))]) from None
    if slot is not None and slot.upper() != chosen.slot:
        raise ValidationFailed(
            [FieldError("slot", f"{chosen.name} certificates go in slot {chosen.slot}, not {slot}")]
        )
    _check_professional(professional)
    issuer = _issuing_ca(chosen, ca)

    with transaction.atomic():
        now = timezone.now()
        builder = profiles.build_certificate(
            chosen,
            subject=profiles.professional_name(professional),
            public_key=key,
            serial=x509.random_serial_number(),  # 159 random bits, RFC 5280 §4.1.2.2 ≤ 20 octets
            issuer=issuer_context(issuer),
            now=now,
            professional=professional,
        )
        certificate = builder.sign(ca_signing_key(issuer), ca_hash(issuer))
        der = certificate.public_bytes(serialization.Encoding.DER)
        row = Certificate(
            ca=issuer,
            serial=serial_hex(certificate.serial_number),
            profile=chosen.name,
            subject=certificate.subject.rfc4514_string(),
            not_before=certificate.not_valid_before_utc,
            not_after=certificate.not_valid_after_utc,
            fingerprint_sha256=fingerprint_sha256(der),
            der=der,
            card_slot=chosen.slot,
            professional=professional,
            issued_by=by if getattr(by, "is_authenticated", False) else None,
            issued_at=now,
        )
        if card is not None:
            row.card_content_type = ContentType.objects.get_for_model(card)
            row.card_object_id = str(card.pk)
        row.save(force_insert=True)
        audit_record(
            event=EventType.CERTIFICATE_ISSUED,
            actor=by,
            obj=row,
            payload={
                "serial": row.serial,
                "ca": issuer.slug,
                "profile": row.profile,
                "slot": row.card_slot,
                "subject": row.subject,
                "professional": professional.rpps,
                "card": row.card_object_id or None,
                "not_after": row.not_after.isoformat(),
                "fingerprint_sha256": row.fingerprint_sha256,
            },
        )
    logger.info("issued %s certificate %s by CA %s", row.profile, row.serial, issuer.slug)
    return row
