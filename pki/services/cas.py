"""The CA hierarchy: a root, an issuing CA per purpose, a delegated OCSP responder per issuing
CA, the card-management master key. `pki_bootstrap` creates what is missing, once."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeAlias

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.events import EventType
from audit.services import audit_record
from config.errors import Conflict, FieldError, ValidationFailed
from pki import profiles
from pki.conf import default_key_backend_alias
from pki.key_backends import (
    CARD_MANAGEMENT_MASTER_LABEL,
    KeyAlgorithm,
    KeyBackend,
    key_backend,
    key_backend_aliases,
)
from pki.models import (
    Certificate,
    CertificateAuthority,
    CertificateRevocationList,
    MasterKey,
    OcspResponder,
)
from pki.services import Actor
from pki.services.platform_signers import platform_signers_ensure
from pki.services.signing import (
    ca_hash,
    ca_signing_key,
    certificate_row,
    forget_current_cas,
    issuer_context,
    renewal_due,
)
from pki.x509util import fingerprint_sha256, serial_hex

logger = logging.getLogger(__name__)

ROLES = ("root", "authentication", "qualified-signature")


@dataclass(frozen=True)
class CaSpec:
    role: str
    slug: str
    common_name: str
    algorithm: KeyAlgorithm
    validity_days: int


@dataclass
class BootstrapResult:
    root: CertificateAuthority
    issuing: dict[str, CertificateAuthority]
    responders: dict[str, OcspResponder]
    created: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created)


# settings.PKI_HIERARCHY's shape: role -> {"slug", "common_name", "algorithm", "validity_days"}.
Hierarchy: TypeAlias = Mapping[str, Mapping[str, object]]


def hierarchy_specs(hierarchy: Hierarchy | None = None) -> dict[str, CaSpec]:
    """The CA specifications by role, from `hierarchy` or settings.PKI_HIERARCHY."""
    source: Hierarchy = hierarchy if hierarchy is not None else settings.PKI_HIERARCHY
    specs = {}
    for role in ROLES:
        if role not in source:
            raise ValidationFailed([FieldError("hierarchy", f"the {role} CA is not described")])
        entry = source[role]
        specs[role] = CaSpec(
            role=role,
            slug=_text(entry, role, "slug"),
            common_name=_text(entry, role, "common_name"),
            algorithm=_algorithm(entry, role),
            validity_days=_days(entry, role, "validity_days"),
        )
    return specs


def _algorithm(entry: Mapping[str, object], role: str) -> KeyAlgorithm:
    value = entry["algorithm"]
    known = {algorithm.value: algorithm for algorithm in KeyAlgorithm}
    if isinstance(value, str) and value in known:
        return known[value]
    raise ValidationFailed([FieldError(f"hierarchy.{role}.algorithm", f"unknown {value!r}")])


def _text(entry: Mapping[str, object], role: str, name: str) -> str:
    value = entry[name]
    if not isinstance(value, str):
        raise ValidationFailed([FieldError(f"hierarchy.{role}.{name}", "must be text")])
    return value


def _days(entry: Mapping[str, object], role: str, name: str) -> int:
    value = entry[name]
    if isinstance(value, int | str):
        try:
            return int(value)
        except ValueError:
            pass
    raise ValidationFailed(
        [FieldError(f"hierarchy.{role}.{name}", "must be a whole number of days")]
    )


def _backend(alias: str | None) -> KeyBackend:
    alias = alias or default_key_backend_alias()
    if alias not in key_backend_aliases():
        known = ", ".join(key_backend_aliases())
        raise ValidationFailed(
            [FieldError("backend", f"no key backend {alias!r} is configured (known: {known})")]
        )
    return key_backend(alias)


def _label(kind: str, slug: str) -> str:
    # A fresh suffix each time: a key left behind in an HSM by a rolled-back bootstrap never
    # collides with the next attempt.
    return f"cardforge-{kind}-{slug}-{secrets.token_hex(4)}"


def pki_bootstrap(
    *, backend: str | None = None, by: Actor = None, hierarchy: Hierarchy | None = None
) -> BootstrapResult:
    """Create the root CA, the issuing CAs (authentication, qualified signature), an OCSP
    responder per issuing CA, the first CRLs and the card-management master key: whatever of
    these is missing. Running it again changes nothing.

    `backend` is the key-backend alias new keys go to (default settings.PKI_DEFAULT_KEY_BACKEND);
    existing CAs keep theirs. `hierarchy` overrides settings.PKI_HIERARCHY (same shape).
    """
    from pki.services.crl import crl_generate

    specs = hierarchy_specs(hierarchy)
    chosen = _backend(backend)
    created: list[str] = []
    try:
        with transaction.atomic():
            now = timezone.now()
            root = CertificateAuthority.objects.filter(slug=specs["root"].slug).first()
            if root is None:
                root = _ca_create(spec=specs["root"], parent=None, backend=chosen, by=by, now=now)
                created.append(f"root CA {root.slug}")
            elif not root.is_root:
                raise Conflict(f"CA {root.slug!r} exists and is not a root CA")
            issuing: dict[str, CertificateAuthority] = {}
            for role in ("authentication", "qualified-signature"):
                spec = specs[role]
                ca = CertificateAuthority.objects.filter(slug=spec.slug).first()
                if ca is None:
                    ca = _ca_create(spec=spec, parent=root, backend=chosen, by=by, now=now)
                    created.append(f"issuing CA {ca.slug}")
                elif ca.purpose != role:
                    raise Conflict(f"CA {ca.slug!r} exists with purpose {ca.purpose}, not {role}")
                issuing[role] = ca
            responders: dict[str, OcspResponder] = {}
            for role, ca in issuing.items():
                responder, renewed = _ocsp_responder_ensure(ca=ca, by=by, now=now)
                responders[role] = responder
                if renewed:
                    created.append(f"OCSP responder for {ca.slug}")
            for ca in (root, *issuing.values()):
                if not CertificateRevocationList.objects.filter(ca=ca).exists():
                    crl_generate(ca=ca, by=by)
                    created.append(f"first CRL of {ca.slug}")
            if _master_key_ensure(backend=chosen, by=by):
                created.append(f"card-management master key in {chosen.alias}")
            for signer in platform_signers_ensure(by=by, now=now):
                created.append(f"platform key for {signer.get_purpose_display().lower()}")
    except IntegrityError:
        # Two bootstraps at once: the other one won; running again finds its hierarchy.
        raise Conflict("another bootstrap of the PKI ran at the same time; run it again") from None
    if created:
        _forget_cached_state()
    return BootstrapResult(root=root, issuing=issuing, responders=responders, created=created)


def _ca_create(
    *,
    spec: CaSpec,
    parent: CertificateAuthority | None,
    backend: KeyBackend,
    by: Actor,
    now: dt.datetime,
) -> CertificateAuthority:
    handle = backend.create_key(label=_label("ca", spec.slug), algorithm=spec.algorithm)
    public_key = backend.public_key(handle)
    profile = profiles.PROFILES[profiles.ROOT_CA if parent is None else profiles.ISSUING_CA]
    builder = profiles.build_certificate(
        profile,
        subject=profiles.ca_name(spec.common_name),
        public_key=public_key,
        serial=x509.random_serial_number(),
        issuer=issuer_context(parent) if parent is not None else None,
        now=now,
        validity_days=spec.validity_days,
    )
    if parent is None:
        certificate = builder.sign(backend.private_key(handle), spec.algorithm.signature_hash)
    else:
        certificate = builder.sign(ca_signing_key(parent), ca_hash(parent))
    der = certificate.public_bytes(serialization.Encoding.DER)
    purpose = CertificateAuthority.Purpose(spec.role)
    is_current = (
        purpose != CertificateAuthority.Purpose.ROOT
        and not CertificateAuthority.objects.current().filter(purpose=purpose).exists()
    )
    ca = CertificateAuthority.objects.create(
        slug=spec.slug,
        name=spec.common_name,
        purpose=purpose,
        parent=parent,
        key_backend=backend.alias,
        key_handle=handle,
        key_algorithm=spec.algorithm.value,
        serial=serial_hex(certificate.serial_number),
        subject=certificate.subject.rfc4514_string(),
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
        subject_key_identifier=x509.SubjectKeyIdentifier.from_public_key(public_key).digest.hex(),
        fingerprint_sha256=fingerprint_sha256(der),
        certificate_der=der,
        is_current=is_current,
    )
    audit_record(
        event=EventType.CA_CREATED,
        actor=by,
        obj=ca,
        payload={
            "slug": ca.slug,
            "purpose": ca.purpose,
            "parent": parent.slug if parent else None,
            "subject": ca.subject,
            "serial": ca.serial,
            "key_backend": ca.key_backend,
            "key_algorithm": ca.key_algorithm,
            "not_after": ca.not_after.isoformat(),
            "fingerprint_sha256": ca.fingerprint_sha256,
            "is_current": ca.is_current,
        },
    )
    logger.info("created CA %s (%s) in key backend %s", ca.slug, ca.purpose, ca.key_backend)
    return ca


def _ocsp_responder_ensure(
    *, ca: CertificateAuthority, by: Actor, now: dt.datetime
) -> tuple[OcspResponder, bool]:
    current = OcspResponder.objects.select_related("certificate").current().filter(ca=ca).first()
    if current is not None and not renewal_due(current.certificate, now):
        return current, False
    return ocsp_responder_create(ca=ca, by=by, now=now), True


def ocsp_responder_create(
    *, ca: CertificateAuthority, by: Actor = None, now: dt.datetime | None = None
) -> OcspResponder:
    """A new delegated responder key and certificate for `ca`, replacing the current one."""
    if ca.is_root:
        raise ValidationFailed([FieldError("ca", "the root CA answers by CRL only")])
    now = now or timezone.now()
    with transaction.atomic():
        # The web process signs with the responder's key (docs/signer.md): it lives in the
        # responders' backend (PKI_RESPONDER_KEY_BACKEND), not under the signer's KEK.
        alias = settings.PKI_RESPONDER_KEY_BACKEND or ca.key_backend
        backend = _backend(alias)
        algorithm = KeyAlgorithm(ca.key_algorithm)
        handle = backend.create_key(label=_label("ocsp", ca.slug), algorithm=algorithm)
        public_key = backend.public_key(handle)
        profile = profiles.PROFILES[profiles.OCSP_RESPONDER]
        certificate = profiles.build_certificate(
            profile,
            subject=profiles.ca_name(f"{ca.name} OCSP Responder"),
            public_key=public_key,
            serial=x509.random_serial_number(),
            issuer=issuer_context(ca),
            now=now,
        ).sign(ca_signing_key(ca), ca_hash(ca))
        row = certificate_row(certificate, ca=ca, profile=Certificate.Profile.OCSP_RESPONDER, by=by)
        row.save()
        OcspResponder.objects.filter(ca=ca, is_current=True).update(is_current=False)
        responder = OcspResponder.objects.create(
            ca=ca, certificate=row, key_backend=backend.alias, key_handle=handle
        )
        audit_record(
            event=EventType.OCSP_RESPONDER_CREATED,
            actor=by,
            obj=responder,
            payload={
                "ca": ca.slug,
                "serial": row.serial,
                "not_after": row.not_after.isoformat(),
                "key_backend": responder.key_backend,
            },
        )
        transaction.on_commit(_forget_cached_state)
    return responder


def ocsp_responders_renew_due(*, by: Actor = None) -> list[OcspResponder]:
    """Replace every current responder certificate that is close to expiry (periodic task)."""
    now = timezone.now()
    renewed = []
    for ca in CertificateAuthority.objects.issuing().unexpired():
        current = (
            OcspResponder.objects.select_related("certificate").current().filter(ca=ca).first()
        )
        if renewal_due(current.certificate if current else None, now):
            renewed.append(ocsp_responder_create(ca=ca, by=by, now=now))
    return renewed


def _master_key_ensure(*, backend: KeyBackend, by: Actor) -> bool:
    """The card-management master key (DESIGN.md: 9B keys are derived from it). Created in
    `backend` unless one is already recorded; an existing key of that label is adopted."""
    if MasterKey.objects.filter(purpose=MasterKey.Purpose.CARD_MANAGEMENT).exists():
        return False
    label = CARD_MANAGEMENT_MASTER_LABEL
    adopted = backend.has_key(label)
    if not adopted:
        backend.create_secret_key(label=label)
    master = MasterKey.objects.create(
        purpose=MasterKey.Purpose.CARD_MANAGEMENT, key_backend=backend.alias, key_handle=label
    )
    audit_record(
        event=EventType.MASTER_KEY_CREATED,
        actor=by,
        obj=master,
        payload={
            "purpose": master.purpose,
            "key_backend": master.key_backend,
            "adopted_existing": adopted,
        },
    )
    return True


def _forget_cached_state() -> None:
    from pki.services.ocsp import ocsp_cache_clear

    ocsp_cache_clear()
    forget_current_cas()
