"""Issuing certificates for public keys generated on a card (the platform never sees the private
key): one at a time, or a card's whole set in one transaction."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.utils import timezone

from audit.events import EventType
from audit.services import PendingEvent, audit_record_many
from config.errors import Conflict, FieldError, NotFound, ValidationFailed
from issuance.identity import Identity, identity_of
from pki import profiles
from pki.key_backends.base import SupportedPublicKey
from pki.models import Certificate, CertificateAuthority
from pki.services import Actor
from pki.services.signing import (
    ca_hash,
    ca_signing_key,
    certificate_row,
    current_ca,
    issuer_context,
)
from pki.x509util import load_public_key

if TYPE_CHECKING:
    from issuance.models import Professional

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CertificateRequest:
    """One certificate of a card: the public key a slot generated and the profile it needs."""

    public_key: PublicKeyTypes | bytes | str
    profile: str
    slot: str | None = None


@dataclass(frozen=True)
class _Checked:
    profile: profiles.CertificateProfile
    public_key: SupportedPublicKey
    ca: CertificateAuthority


def _profile(name: str, field: str) -> profiles.CertificateProfile:
    if name not in profiles.END_ENTITY_PROFILES:
        known = ", ".join(profiles.END_ENTITY_PROFILES)
        raise ValidationFailed(
            [FieldError(field, f"unknown certificate profile {name!r} (use one of {known})")]
        )
    return profiles.PROFILES[name]


def _issuing_ca(
    profile: profiles.CertificateProfile, ca: CertificateAuthority | None
) -> CertificateAuthority:
    if ca is None:
        # End-entity profiles name the purpose of their CA; a CA profile has none to look up.
        purpose = profile.ca_purpose
        ca = current_ca(purpose) if purpose is not None else None
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


def _registered(professional: Professional | None) -> Professional:
    if professional is None or getattr(professional, "pk", None) is None:
        raise ValidationFailed(
            [FieldError("professional", "a registered professional is required")]
        )
    return professional


def _holder(professional: Professional, identity: Identity | None) -> Identity:
    """What the certificate says about its holder: the identity snapshot an approved card
    request carries, or (outside any request) the professional's registry record."""
    if identity is None:
        identity = identity_of(professional)
    elif identity.rpps != professional.rpps:
        raise ValidationFailed(
            [FieldError("identity.rpps", "the identity is not the professional's")]
        )
    problems = [
        FieldError(f"professional.{name}", "is required in a certificate subject")
        for name in ("rpps", "last_name", "first_name", "country")
        if not str(getattr(identity, name, "") or "").strip()
    ]
    if problems:
        raise ValidationFailed(problems)
    return identity


def _check(
    request: CertificateRequest, ca: CertificateAuthority | None, prefix: str = ""
) -> _Checked:
    profile = _profile(request.profile, f"{prefix}profile")
    key = load_public_key(request.public_key, field=f"{prefix}public_key")
    try:
        profiles.check_public_key(profile, key)
    except ValueError as exc:
        raise ValidationFailed([FieldError(f"{prefix}public_key", str(exc))]) from None
    if request.slot is not None and request.slot.upper() != profile.slot:
        raise ValidationFailed(
            [
                FieldError(
                    f"{prefix}slot",
                    f"{profile.name} certificates go in slot {profile.slot}, not {request.slot}",
                )
            ]
        )
    return _Checked(profile=profile, public_key=key, ca=_issuing_ca(profile, ca))


def _sign(
    checked: _Checked,
    *,
    subject: x509.Name,
    identity: Identity,
    professional: Professional,
    card: models.Model | None,
    by: Actor,
    now: dt.datetime,
) -> tuple[Certificate, PendingEvent]:
    issuer = checked.ca
    certificate = profiles.build_certificate(
        checked.profile,
        subject=subject,
        public_key=checked.public_key,
        serial=x509.random_serial_number(),  # 159 random bits; RFC 5280 §4.1.2.2: ≤ 20 octets
        issuer=issuer_context(issuer),
        now=now,
        professional=identity,
    ).sign(ca_signing_key(issuer), ca_hash(issuer))
    row = certificate_row(
        certificate,
        ca=issuer,
        profile=checked.profile.name,
        by=by,
        card_slot=checked.profile.slot,
        professional=professional,
        issued_at=now,
    )
    if card is not None:
        row.card_content_type = ContentType.objects.get_for_model(card)
        row.card_object_id = str(card.pk)
    event = PendingEvent(
        event=EventType.CERTIFICATE_ISSUED,
        actor=by,
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
    return row, event


def _record(pairs: list[tuple[Certificate, PendingEvent]]) -> list[Certificate]:
    rows = Certificate.objects.bulk_create([row for row, _ in pairs])
    audit_record_many(
        [
            PendingEvent(
                event=event.event,
                actor=event.actor,
                obj=row,
                payload=event.payload,
            )
            for row, (_, event) in zip(rows, pairs, strict=True)
        ]
    )
    for row in rows:
        logger.info("issued %s certificate %s by CA %s", row.profile, row.serial, row.ca.slug)
    return rows


def certificate_issue(
    *,
    public_key: PublicKeyTypes | bytes | str,
    profile: str,
    professional: Professional | None,
    card: models.Model | None = None,
    slot: str | None = None,
    by: Actor = None,
    ca: CertificateAuthority | None = None,
    identity: Identity | None = None,
) -> Certificate:
    """Issue a certificate of `profile` for `public_key` to `professional`.

    `public_key`: a `cryptography` public key, or PEM / DER SubjectPublicKeyInfo (EC P-256/P-384,
    RSA-2048/3072 with exponent 65537). `card`: the card the key lives on (any saved model
    instance), recorded as a generic reference. `slot`: the PIV slot, which must be the
    profile's (9A, 9C, 9D, 9E); defaults to it. `ca`: the issuing CA, by default the current CA of
    the profile's purpose. `by`: the user, or None for the system (a personalization job).
    `identity`: what the certificate says about the holder (an approved request's snapshot);
    by default the professional's registry record.
    Records the certificate and a CERTIFICATE_ISSUED event in one transaction; bad input raises
    ValidationFailed naming the field, and changes nothing.
    """
    holder = _registered(professional)
    identity = _holder(holder, identity)
    checked = _check(CertificateRequest(public_key, profile, slot), ca)
    with transaction.atomic():
        (row,) = _record(
            [
                _sign(
                    checked,
                    subject=profiles.professional_name(identity),
                    identity=identity,
                    professional=holder,
                    card=card,
                    by=by,
                    now=timezone.now(),
                )
            ]
        )
    return row


@dataclass(frozen=True)
class SignedCertificates:
    """A card's certificates, signed but not yet issued: nothing is recorded or published until
    `certificates_record` (so signing can happen outside the transaction that records them)."""

    pairs: tuple[tuple[Certificate, PendingEvent], ...]


def certificates_sign(
    *,
    requests: Sequence[CertificateRequest],
    professional: Professional | None,
    identity: Identity | None = None,
    card: models.Model | None = None,
    by: Actor = None,
) -> SignedCertificates:
    """Check and sign a card's certificates (one per slot), writing nothing: the first half of
    `certificates_issue`, for a caller that records them in a transaction of its own. Errors
    name the request at fault, e.g. `requests.2.public_key`."""
    if not requests:
        raise ValidationFailed([FieldError("requests", "at least one certificate is needed")])
    holder = _registered(professional)
    identity = _holder(holder, identity)
    checked = [
        _check(request, None, prefix=f"requests.{index}.") for index, request in enumerate(requests)
    ]
    subject = profiles.professional_name(identity)  # one Name for the card's certificates
    now = timezone.now()
    return SignedCertificates(
        tuple(
            _sign(
                item,
                subject=subject,
                identity=identity,
                professional=holder,
                card=card,
                by=by,
                now=now,
            )
            for item in checked
        )
    )


def certificates_record(signed: SignedCertificates) -> list[Certificate]:
    """Issue certificates signed by `certificates_sign`: their rows and one audit event each,
    all or none, in the caller's transaction if there is one (an error then rolls all of it
    back)."""
    with transaction.atomic(savepoint=False):
        return _record(list(signed.pairs))


def certificates_issue(
    *,
    requests: Sequence[CertificateRequest],
    professional: Professional | None,
    identity: Identity | None = None,
    card: models.Model | None = None,
    by: Actor = None,
) -> list[Certificate]:
    """Issue a card's certificates (one per slot) all or none, in one transaction with one
    audit event each. Errors name the request at fault, e.g. `requests.2.public_key`."""
    return certificates_record(
        certificates_sign(
            requests=requests, professional=professional, identity=identity, card=card, by=by
        )
    )
