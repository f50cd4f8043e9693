"""PKI records: CAs, the certificates they issued, revocation requests, CRLs, OCSP responders,
master keys, and the software key backend's encrypted keys.

Certificates and CRLs are kept as issued (DER); the columns beside them are what queries, the API
and relying-party endpoints need. The database refuses what must never happen: two certificates
with one serial under one CA, a revocation approved by its requester, a revoked certificate
without a revocation time and reason.

One module over 400 lines on purpose: these models reference one another (a certificate its CA,
a revocation request its certificate, a CRL its CA) and Django finds an app's models here; each
class is short and the file reads as the app's schema.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from config.four_eyes import AskedRequest, FourEyes, four_eyes_constraints
from pki.key_backends.base import KeyAlgorithm
from pki.reasons import RevocationReason

if TYPE_CHECKING:
    from issuance.models import Professional

_ALGORITHM_CHOICES = [(algorithm.value, algorithm.value) for algorithm in KeyAlgorithm]


class CertificateAuthorityQuerySet(models.QuerySet["CertificateAuthority"]):
    def roots(self) -> CertificateAuthorityQuerySet:
        return self.filter(parent__isnull=True)

    def issuing(self) -> CertificateAuthorityQuerySet:
        return self.filter(parent__isnull=False)

    def current(self) -> CertificateAuthorityQuerySet:
        """The CAs new certificates of their purpose are issued by."""
        return self.filter(is_current=True)

    def unexpired(self) -> CertificateAuthorityQuerySet:
        return self.filter(not_after__gt=timezone.now())


class CertificateAuthority(models.Model):
    """A CA of the platform's hierarchy: a self-signed root, or an issuing CA under it."""

    class Purpose(models.TextChoices):
        ROOT = "root", "Root"
        AUTHENTICATION = "authentication", "Authentication (slots 9A, 9D, 9E)"
        QUALIFIED_SIGNATURE = "qualified-signature", "Qualified signature (slot 9C)"

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200, help_text="The CA's common name.")
    purpose = models.CharField(max_length=32, choices=Purpose.choices)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    key_backend = models.CharField(max_length=64, help_text="Key backend alias.")
    key_handle = models.CharField(max_length=100, help_text="The key's label in its backend.")
    key_algorithm = models.CharField(max_length=16, choices=_ALGORITHM_CHOICES)
    serial = models.CharField(max_length=40, help_text="Certificate serial number, hex.")
    subject = models.CharField(max_length=500)
    not_before = models.DateTimeField()
    not_after = models.DateTimeField()
    subject_key_identifier = models.CharField(max_length=64)
    fingerprint_sha256 = models.CharField(max_length=64, unique=True)
    certificate_der = models.BinaryField()
    is_current = models.BooleanField(
        default=False, help_text="Issues the new certificates of its purpose."
    )
    crl_number = models.PositiveBigIntegerField(
        default=0, help_text="The number of the last CRL issued (RFC 5280 §5.2.3)."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = CertificateAuthorityQuerySet.as_manager()

    class Meta:
        verbose_name = "certificate authority"
        verbose_name_plural = "certificate authorities"
        ordering = ["parent_id", "slug"]
        constraints = [
            models.UniqueConstraint(
                fields=["purpose"],
                condition=Q(is_current=True),
                name="pki_ca_one_current_per_purpose",
                violation_error_message="Another CA already issues certificates of this purpose.",
            ),
            models.CheckConstraint(
                condition=Q(purpose="root", parent__isnull=True)
                | (~Q(purpose="root") & Q(parent__isnull=False)),
                name="pki_ca_root_has_no_parent",
            ),
            models.CheckConstraint(
                condition=Q(not_after__gt=F("not_before")), name="pki_ca_validity_order"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_root(self) -> bool:
        return self.parent_id is None


class CertificateQuerySet(models.QuerySet["Certificate"]):
    def valid(self) -> CertificateQuerySet:
        """Not revoked, not on hold, not expired."""
        return self.filter(status=Certificate.Status.VALID, not_after__gt=timezone.now())

    def revoked(self) -> CertificateQuerySet:
        """Revoked for good (on-hold certificates are not: see `on_hold`)."""
        return self.filter(status=Certificate.Status.REVOKED)

    def on_hold(self) -> CertificateQuerySet:
        return self.filter(status=Certificate.Status.ON_HOLD)

    def listed_on_crl(self) -> CertificateQuerySet:
        """Revoked or on hold and not yet expired: the entries of the issuer's next CRL."""
        return self.filter(
            status__in=[Certificate.Status.REVOKED, Certificate.Status.ON_HOLD],
            not_after__gt=timezone.now(),
        )

    def expired(self) -> CertificateQuerySet:
        return self.filter(not_after__lte=timezone.now())

    def for_professional(self, professional: Professional) -> CertificateQuerySet:
        return self.filter(professional=professional)

    def for_card(self, card: models.Model) -> CertificateQuerySet:
        return self.filter(
            card_content_type=ContentType.objects.get_for_model(card), card_object_id=str(card.pk)
        )


class Certificate(models.Model):
    """A certificate an issuing CA signed: for a professional's card key, or an OCSP responder."""

    class Status(models.TextChoices):
        VALID = "valid", "Valid"
        ON_HOLD = "on_hold", "On hold"
        REVOKED = "revoked", "Revoked"

    class Profile(models.TextChoices):
        HP_AUTHENTICATION = "hp-authentication", "Authentication (9A)"
        HP_QUALIFIED_SIGNATURE = "hp-qualified-signature", "Qualified signature (9C)"
        HP_ENCRYPTION = "hp-encryption", "Encryption (9D)"
        HP_CARD_AUTHENTICATION = "hp-card-authentication", "Card authentication (9E)"
        OCSP_RESPONDER = "ocsp-responder", "OCSP responder"
        ENCODER_STATION = "encoder-station", "Encoder station"
        AUDIT_SIGNING = "audit-signing", "Audit checkpoints (platform)"
        DOCUMENT_SIGNING = "document-signing", "Reports (platform)"

    class Slot(models.TextChoices):
        # SP 800-73-4 Part 1 §3.1: the PIV key references.
        AUTHENTICATION = "9A", "9A PIV authentication"
        SIGNATURE = "9C", "9C digital signature"
        KEY_MANAGEMENT = "9D", "9D key management"
        CARD_AUTHENTICATION = "9E", "9E card authentication"

    ca = models.ForeignKey(
        CertificateAuthority, on_delete=models.PROTECT, related_name="certificates"
    )
    serial = models.CharField(max_length=40, help_text="Serial number, upper-case hex.")
    profile = models.CharField(max_length=32, choices=Profile.choices)
    subject = models.CharField(max_length=500)
    not_before = models.DateTimeField()
    not_after = models.DateTimeField()
    fingerprint_sha256 = models.CharField(max_length=64, unique=True)
    der = models.BinaryField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.VALID)
    card_slot = models.CharField(max_length=2, choices=Slot.choices, blank=True)
    professional = models.ForeignKey(
        "issuance.Professional",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="certificates",
    )
    # The card the key lives on, once cards exist as rows (a generic reference, so this app does
    # not depend on the personalization app's models).
    card_content_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    card_object_id = models.CharField(max_length=64, blank=True)
    card = GenericForeignKey("card_content_type", "card_object_id")
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    issued_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revocation_reason = models.PositiveSmallIntegerField(
        choices=RevocationReason.choices, null=True, blank=True
    )
    # The DER of this certificate's revokedCertificates entry (RFC 5280 §5.1.2.6), encoded once
    # at revocation so a CRL of any size is a concatenation, not a re-encoding.
    crl_entry = models.BinaryField(null=True, blank=True, editable=False)

    objects = CertificateQuerySet.as_manager()

    class Meta:
        ordering = ["-issued_at", "-pk"]
        constraints = [
            # RFC 5280 §4.1.2.2: a serial number is unique for each certificate of one CA.
            models.UniqueConstraint(fields=["ca", "serial"], name="pki_certificate_serial_per_ca"),
            models.CheckConstraint(
                condition=(
                    Q(status="valid")
                    & Q(revoked_at__isnull=True, revocation_reason__isnull=True)
                    & Q(crl_entry__isnull=True)
                )
                | (
                    Q(status__in=["revoked", "on_hold"])
                    & Q(revoked_at__isnull=False, revocation_reason__isnull=False)
                    & Q(crl_entry__isnull=False)
                ),
                name="pki_certificate_revocation_complete",
                violation_error_message="A revoked certificate needs a revocation time and reason.",
            ),
            models.CheckConstraint(
                condition=~Q(status="on_hold") | Q(revocation_reason=6),
                name="pki_certificate_hold_reason",
            ),
            models.CheckConstraint(
                condition=~Q(status="revoked") | ~Q(revocation_reason__in=[6, 8]),
                name="pki_certificate_revoked_reason_final",
            ),
            # A card's certificate names its holder; a platform certificate (an OCSP responder,
            # an encoder station, the platform's own signing keys) has none.
            models.CheckConstraint(
                condition=Q(
                    profile__in=[
                        "ocsp-responder",
                        "encoder-station",
                        "audit-signing",
                        "document-signing",
                    ]
                )
                | Q(professional__isnull=False),
                name="pki_certificate_professional_required",
            ),
            models.CheckConstraint(
                condition=Q(not_after__gt=F("not_before")), name="pki_certificate_validity_order"
            ),
        ]
        indexes = [
            models.Index(fields=["ca", "status"]),
            models.Index(fields=["professional", "profile"]),
            models.Index(fields=["card_content_type", "card_object_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.profile} {self.serial}"

    @property
    def serial_number(self) -> int:
        return int(self.serial, 16)

    @property
    def is_expired(self) -> bool:
        return self.not_after <= timezone.now()

    @property
    def pem(self) -> str:
        from pki.x509util import der_to_pem

        return der_to_pem(bytes(self.der), "CERTIFICATE")


REVOCATION_FOUR_EYES = FourEyes(
    noun="revocation request",
    asked_by="requested_by",
    decide_permission="pki.decide_revocation",
    own_message="you asked for this revocation; another officer must decide it",
)


class RevocationRequestQuerySet(models.QuerySet["RevocationRequest"]):
    def pending(self) -> RevocationRequestQuerySet:
        return self.filter(status=RevocationRequest.Status.PENDING)

    def decided(self) -> RevocationRequestQuerySet:
        return self.filter(
            status__in=[RevocationRequest.Status.APPROVED, RevocationRequest.Status.REJECTED]
        )


class RevocationRequest(AskedRequest):
    """A revocation (or hold, or release from hold) asked by one officer and decided by another."""

    four_eyes = REVOCATION_FOUR_EYES

    certificate = models.ForeignKey(
        Certificate, on_delete=models.PROTECT, related_name="revocation_requests"
    )
    reason = models.PositiveSmallIntegerField(choices=RevocationReason.choices)

    objects = RevocationRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-requested_at", "-pk"]
        permissions = [
            ("request_revocation", "Can ask for the revocation of a certificate"),
            ("decide_revocation", "Can approve or reject revocation requests of others"),
        ]
        constraints = [
            # Four eyes, enforced by the database as well as the service.
            *four_eyes_constraints(
                REVOCATION_FOUR_EYES,
                name="pki_revocation_decider_is_not_requester",
                decided_name="pki_revocation_decision_has_decider",
                message="The requester of a revocation cannot decide on it.",
            ),
            models.UniqueConstraint(
                fields=["certificate"],
                condition=Q(status="pending"),
                name="pki_revocation_one_pending_per_certificate",
                violation_error_message="This certificate already has a pending revocation "
                "request.",
            ),
        ]

    def __str__(self) -> str:
        return f"Revocation request #{self.pk} ({self.get_reason_display()})"


class CertificateRevocationList(models.Model):
    """The current CRL of a CA (RFC 5280 §5): full, numbered, signed by the CA."""

    ca = models.OneToOneField(
        CertificateAuthority, on_delete=models.PROTECT, related_name="current_crl"
    )
    number = models.PositiveBigIntegerField()
    this_update = models.DateTimeField()
    next_update = models.DateTimeField()
    entries = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    der = models.BinaryField()
    generated_at = models.DateTimeField(help_text="When generation started (sub-second).")

    class Meta:
        verbose_name = "certificate revocation list"

    def __str__(self) -> str:
        return f"CRL #{self.number} of {self.ca.slug}"


class OcspResponderQuerySet(models.QuerySet["OcspResponder"]):
    def current(self) -> OcspResponderQuerySet:
        return self.filter(is_current=True)


class OcspResponder(models.Model):
    """A delegated OCSP responder (RFC 6960 §4.2.2.2): its own key and a certificate from the CA
    it answers for, carrying id-kp-OCSPSigning."""

    ca = models.ForeignKey(
        CertificateAuthority, on_delete=models.PROTECT, related_name="ocsp_responders"
    )
    certificate = models.OneToOneField(
        Certificate, on_delete=models.PROTECT, related_name="ocsp_responder"
    )
    key_backend = models.CharField(max_length=64)
    key_handle = models.CharField(max_length=100)
    is_current = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = OcspResponderQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["ca"], condition=Q(is_current=True), name="pki_ocsp_one_current_per_ca"
            ),
        ]

    def __str__(self) -> str:
        return f"OCSP responder for {self.ca.slug}"


class PlatformSignerQuerySet(models.QuerySet["PlatformSigner"]):
    def current(self) -> PlatformSignerQuerySet:
        return self.filter(is_current=True)


class PlatformSigner(models.Model):
    """A signing key of the platform itself, in a key backend, with its certificate from the
    authentication CA: it signs the audit trail's checkpoints, or the auditor reports."""

    class Purpose(models.TextChoices):
        AUDIT_CHECKPOINTS = "audit-checkpoints", "Audit trail checkpoints"
        REPORTS = "reports", "Auditor reports"

    purpose = models.CharField(max_length=32, choices=Purpose.choices)
    certificate = models.OneToOneField(
        Certificate, on_delete=models.PROTECT, related_name="platform_signer"
    )
    key_backend = models.CharField(max_length=64)
    key_handle = models.CharField(max_length=100)
    is_current = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PlatformSignerQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["purpose"],
                condition=Q(is_current=True),
                name="pki_platform_signer_one_current_per_purpose",
            ),
        ]

    def __str__(self) -> str:
        return f"platform signer for {self.get_purpose_display().lower()}"


class MasterKey(models.Model):
    """A symmetric master key held by a key backend (e.g. the one card management keys are
    derived from). Only where it lives is recorded here, never the key."""

    class Purpose(models.TextChoices):
        CARD_MANAGEMENT = "card-management", "PIV card management key derivation"

    purpose = models.CharField(max_length=32, choices=Purpose.choices, unique=True)
    key_backend = models.CharField(max_length=64)
    key_handle = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.purpose} master key in {self.key_backend}"


class SoftwareKey(models.Model):
    """A key of the software backend: PKCS#8 (or a raw secret) encrypted under the KEK with
    AES-256-GCM; the authenticated data binds it to its backend alias and label."""

    class Kind(models.TextChoices):
        PRIVATE = "private", "Private key"
        SECRET = "secret", "Secret key"

    backend = models.CharField(max_length=64)
    label = models.CharField(max_length=100)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    algorithm = models.CharField(max_length=16, blank=True)
    public_key_der = models.BinaryField(null=True, blank=True)
    encrypted = models.BinaryField(help_text="nonce (12 bytes) || AES-256-GCM ciphertext and tag")
    kek_check = models.CharField(
        max_length=16, help_text="Identifies the KEK used (HMAC of a constant), never the KEK."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["backend", "label"], name="pki_software_key_label"),
        ]

    def __str__(self) -> str:
        return f"{self.backend}:{self.label}"

    def __repr__(self) -> str:
        return f"<SoftwareKey {self.backend}:{self.label}>"
