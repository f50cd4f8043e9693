"""Card requests, cards, PIN mailers and escrowed keys: what a professional asks for and gets.

These models moved here from `issuance` (CardRequest) and `personalization` (Card, PinMailer,
EscrowedKey) with their tables kept (migration 0001): `db_table` names the table they always had.
Audit events written before the move name them by their former labels (`former_labels`, which
`AuditEvent.objects.for_object` also looks for).
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from cardprofiles.models import CardProfile, CardProfileVersion
from config.four_eyes import AskedRequest, FourEyes, four_eyes_constraints
from issuance.identity import Identity
from issuance.models import Professional


class CardRequestQuerySet(models.QuerySet):
    def open(self) -> "CardRequestQuerySet":
        return self.filter(status__in=CardRequest.Status.open_values())

    def pending(self) -> "CardRequestQuerySet":
        return self.filter(status=CardRequest.Status.SUBMITTED)

    def approved(self) -> "CardRequestQuerySet":
        return self.filter(status=CardRequest.Status.APPROVED)


CARD_REQUEST_FOUR_EYES = FourEyes(
    noun="request",
    asked_by="submitted_by",
    decide_permission="cards.decide_cardrequest",
    pending="submitted",
    own_message="you submitted this request, so another officer must approve or reject it",
)


class CardRequest(models.Model):
    """A request for a card, submitted by one officer and decided by another (four eyes)."""

    four_eyes = CARD_REQUEST_FOUR_EYES

    class Reason(models.TextChoices):
        NEW = "new", "New card"
        RENEWAL = "renewal", "Renewal"
        REPLACEMENT = "replacement", "Replacement"

    class Status(models.TextChoices):
        SUBMITTED = "submitted", "Submitted"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        CANCELLED = "cancelled", "Cancelled"
        COMPLETED = "completed", "Card personalized"

        @classmethod
        def open_values(cls) -> list[str]:
            return [cls.SUBMITTED, cls.APPROVED]

    professional = models.ForeignKey(
        Professional, on_delete=models.PROTECT, related_name="card_requests"
    )
    card_profile = models.ForeignKey(
        CardProfile, on_delete=models.PROTECT, related_name="card_requests"
    )
    profile_version = models.ForeignKey(
        CardProfileVersion, on_delete=models.PROTECT, related_name="card_requests"
    )
    reason = models.CharField(max_length=16, choices=Reason.choices, default=Reason.NEW)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SUBMITTED)
    comment = models.TextField(blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # The identity the card will carry, taken at submission (issuance/identity.py), and its
    # SHA-256; the approval records the hash the approver was shown. Neither column, nor
    # submitted_by, can change after insert (database triggers, migration 0003).
    identity = models.JSONField(editable=False)
    identity_sha256 = models.CharField(max_length=64, editable=False)
    approved_identity_sha256 = models.CharField(max_length=64, blank=True, editable=False)

    objects = CardRequestQuerySet.as_manager()

    former_labels = ("issuance.cardrequest",)  # its label before the move

    class Meta:
        db_table = "issuance_cardrequest"
        ordering = ["-submitted_at", "-pk"]
        permissions = [
            ("decide_cardrequest", "Can approve or reject card requests of others"),
            ("cancel_cardrequest", "Can cancel submitted card requests"),
        ]
        constraints = [
            # Four eyes, enforced by the database as well as the service.
            *four_eyes_constraints(
                CARD_REQUEST_FOUR_EYES,
                name="card_request_decider_is_not_submitter",
                decided_name="card_request_decision_has_decider",
                message="The submitter of a card request cannot decide on it.",
            ),
            # A card is personalized only for a request approved under four eyes.
            models.CheckConstraint(
                condition=~Q(status="completed")
                | Q(decided_by__isnull=False, decided_at__isnull=False),
                name="card_request_completion_has_decider",
            ),
            # An approval covers the snapshot it was shown.
            models.CheckConstraint(
                condition=~Q(status__in=["approved", "completed"])
                | Q(approved_identity_sha256=F("identity_sha256")),
                name="card_request_approval_covers_snapshot",
            ),
            models.UniqueConstraint(
                fields=["professional", "card_profile"],
                condition=Q(status__in=["submitted", "approved"]),
                name="card_request_one_open_per_professional_and_profile",
                violation_error_message="This professional already has an open request for this "
                "card profile.",
            ),
        ]
        indexes = [models.Index(fields=["status", "-submitted_at"])]

    def __str__(self) -> str:
        return f"Card request #{self.pk} for {self.professional}"

    @property
    def is_open(self) -> bool:
        return self.status in self.Status.open_values()

    @property
    def snapshot(self) -> Identity:
        """The identity this request was submitted (and approved) for."""
        return Identity.from_json(self.identity)


class CardQuerySet(models.QuerySet):
    def personalized(self):
        return self.filter(status=Card.Status.PERSONALIZED)

    def live(self):
        """Made and not ended: personalized, delivered, active or suspended (its certificates
        not revoked by the card's lifecycle)."""
        return self.filter(status__in=Card.Status.live_values())


class Card(models.Model):
    """A card made for a professional from an approved request."""

    class Status(models.TextChoices):
        # The moves between them: cards/services/cards.py, TRANSITIONS (docs/card-lifecycle.md).
        PERSONALIZING = "personalizing", "Personalizing"
        PERSONALIZED = "personalized", "Personalized"
        DELIVERED = "delivered", "Delivered"
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"
        REVOKED = "revoked", "Revoked"
        EXPIRED = "expired", "Expired"
        DESTROYED = "destroyed", "Destroyed"
        FAILED = "failed", "Personalization failed"

        @classmethod
        def live_values(cls) -> list[str]:
            return [cls.PERSONALIZED, cls.DELIVERED, cls.ACTIVE, cls.SUSPENDED]

    class RevocationReason(models.TextChoices):
        # What happened to the card; each maps to the RFC 5280 reason its certificates are
        # revoked with (cards/services/cards.py, CERTIFICATE_REASONS).
        LOST = "lost", "Lost"
        STOLEN = "stolen", "Stolen"
        DAMAGED = "damaged", "Damaged"
        KEY_COMPROMISE = "key_compromise", "Key compromise"
        DECEASED = "deceased", "Holder deceased"
        LEFT_PROFESSION = "left_profession", "Holder left the profession"
        SUPERSEDED = "superseded", "Superseded by a newer card"

    serial = models.CharField(max_length=20, unique=True, help_text="Printed on the card.")
    uuid = models.UUIDField(
        "card UUID", default=uuid.uuid4, unique=True, help_text="The CHUID GUID."
    )
    chip_serial = models.CharField(max_length=40, blank=True)
    professional = models.ForeignKey(Professional, on_delete=models.PROTECT, related_name="cards")
    card_request = models.ForeignKey(CardRequest, on_delete=models.PROTECT, related_name="cards")
    card_profile = models.ForeignKey(CardProfile, on_delete=models.PROTECT, related_name="cards")
    profile_version = models.ForeignKey(
        CardProfileVersion, on_delete=models.PROTECT, related_name="cards"
    )
    # Where it was made: personalization's models, named by label (cards does not import
    # personalization, which sits above it).
    station = models.ForeignKey(
        "personalization.EncoderStation", null=True, on_delete=models.PROTECT, related_name="cards"
    )
    emulated_card = models.OneToOneField(
        "personalization.EmulatedCard",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="card",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PERSONALIZING)
    management_key_algorithm = models.CharField(max_length=16, blank=True)
    issued_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revocation_reason = models.CharField(
        max_length=20, choices=RevocationReason.choices, blank=True
    )
    destroyed_at = models.DateTimeField(null=True, blank=True)
    # When the renewal task first found it inside its profile's renewal window (once a card).
    renewal_due_at = models.DateTimeField(null=True, blank=True)

    objects = CardQuerySet.as_manager()

    former_labels = ("personalization.card",)  # its label before the move

    class Meta:
        db_table = "personalization_card"
        ordering = ["-created_at", "-pk"]
        permissions = [
            ("download_card_documents", "Can download card faces and carriers"),
            ("deliver_card", "Can record a card handed over to its holder"),
            ("destroy_card", "Can record a returned card destroyed"),
            ("revoke_card_emergency", "Can revoke a card at once, without a second officer"),
        ]
        constraints = [
            # A revoked card says why and when.
            models.CheckConstraint(
                condition=~Q(status="revoked")
                | (Q(revoked_at__isnull=False) & ~Q(revocation_reason="")),
                name="card_revocation_has_reason_and_time",
            ),
            # One card per request gets personalized (a failed attempt leaves a failed card).
            models.UniqueConstraint(
                fields=["card_request"],
                condition=Q(status__in=["personalizing", "personalized"]),
                name="one_live_card_per_request",
            ),
        ]

    def __str__(self) -> str:
        return f"card {self.serial}"


CARD_ACTION_FOUR_EYES = FourEyes(
    noun="card action request",
    asked_by="requested_by",
    decide_permission="cards.decide_cardactionrequest",
    own_message="you asked for this, so another officer must approve or reject it",
)


class CardActionRequestQuerySet(models.QuerySet):
    def pending(self) -> "CardActionRequestQuerySet":
        return self.filter(status=CardActionRequest.Status.PENDING)


class CardActionRequest(AskedRequest):
    """A card's suspension, resumption or revocation, asked by one officer and approved by
    another (four eyes); approved, it takes effect at once (cards/services/card_actions.py)."""

    four_eyes = CARD_ACTION_FOUR_EYES

    class Action(models.TextChoices):
        SUSPEND = "suspend", "Suspension"
        RESUME = "resume", "Resumption"
        REVOKE = "revoke", "Revocation"
        UNBLOCK = "unblock", "PIN unblock"  # done at a station, the card present

    card = models.ForeignKey(Card, on_delete=models.PROTECT, related_name="action_requests")
    action = models.CharField(max_length=16, choices=Action.choices)
    # For a revocation: what happened to the card.
    reason = models.CharField(max_length=20, choices=Card.RevocationReason.choices, blank=True)

    objects = CardActionRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-requested_at", "-pk"]
        permissions = [
            ("request_cardaction", "Can ask for a card's suspension, resumption or revocation"),
            ("decide_cardactionrequest", "Can approve or reject card action requests of others"),
        ]
        constraints = [
            *four_eyes_constraints(
                CARD_ACTION_FOUR_EYES,
                name="card_action_decider_is_not_requester",
                decided_name="card_action_decision_has_decider",
                message="The requester of a card action cannot decide on it.",
            ),
            models.UniqueConstraint(
                fields=["card"],
                condition=Q(status="pending"),
                name="card_action_one_pending_per_card",
                violation_error_message="This card already has a pending action request.",
            ),
            models.CheckConstraint(
                condition=~Q(action="revoke") | ~Q(reason=""),
                name="card_action_revocation_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.card} (request #{self.pk})"


class ActivationChallenge(models.Model):
    """A one-time challenge the holder's card signs with its authentication key (9A) to
    activate it: proof that the holder has the card and its PIN (cards/services/cards.py)."""

    card = models.ForeignKey(Card, on_delete=models.CASCADE, related_name="activation_challenges")
    challenge = models.BinaryField(editable=False)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"activation challenge #{self.pk} of {self.card}"


class PinMailer(models.Model):
    """The card's PIN and PUK, sealed under the KEK until an encoding operator downloads the
    mailer once; then the sealed value is destroyed. Never stored or logged in clear."""

    SEAL_PURPOSE = "pin-mailer"  # config/sealing.py: what `sealed` may be unsealed as

    card = models.OneToOneField(Card, on_delete=models.PROTECT, related_name="pin_mailer")
    sealed = models.BinaryField(null=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    downloaded_at = models.DateTimeField(null=True, blank=True)
    downloaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    former_labels = ("personalization.pinmailer",)  # its label before the move

    class Meta:
        db_table = "personalization_pinmailer"
        permissions = [("download_pinmailer", "Can download a PIN mailer (once)")]
        constraints = [
            models.CheckConstraint(
                condition=Q(downloaded_at__isnull=True) | Q(sealed__isnull=True),
                name="pin_mailer_destroyed_once_downloaded",
            )
        ]

    def __str__(self) -> str:
        return f"PIN mailer of {self.card}"

    @property
    def is_available(self) -> bool:
        return self.sealed is not None


class ManagedPuk(models.Model):
    """The PUK of a card whose profile manages it (puk.managed): sealed under the KEK, opened
    only by the signer for an approved unblock; never printed, shown or logged."""

    SEAL_PURPOSE = "managed-puk"

    card = models.OneToOneField(Card, on_delete=models.PROTECT, related_name="managed_puk")
    sealed = models.BinaryField(editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"managed PUK of {self.card}"


class EscrowedKey(models.Model):
    """A centrally generated key-management (9D) private key, sealed under the KEK, when the card
    profile asks for escrow so encrypted mail can be recovered."""

    SEAL_PURPOSE = "escrowed-key"

    card = models.ForeignKey(Card, on_delete=models.PROTECT, related_name="escrowed_keys")
    slot = models.CharField(max_length=2)
    sealed_private_key = models.BinaryField(editable=False)
    public_key_sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    former_labels = ("personalization.escrowedkey",)  # its label before the move

    class Meta:
        db_table = "personalization_escrowedkey"
        constraints = [
            models.UniqueConstraint(fields=["card", "slot"], name="one_escrowed_key_per_slot")
        ]

    def __str__(self) -> str:
        return f"escrowed {self.slot} key of {self.card}"


class KeyRecoveryRequest(models.Model):
    """An escrowed key recovered to someone other than its holder's new card (a deceased
    holder's documents, a court order): asked by one officer, approved by two others, then
    exported where the signer's secrets are (`manage.py recover_key`), once
    (cards/services/key_recovery.py)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for two approvals"
        APPROVED = "approved", "Approved, not yet recovered"
        REJECTED = "rejected", "Rejected"
        RECOVERED = "recovered", "Recovered"

    escrowed_key = models.ForeignKey(
        EscrowedKey, on_delete=models.PROTECT, related_name="recovery_requests"
    )
    recipient = models.CharField(max_length=200, help_text="Who receives the key, and as what.")
    reason = models.TextField(help_text="Why, with the reference of the order or decision.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField()
    first_approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    first_approved_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_comment = models.TextField(blank=True)
    recovered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]
        permissions = [
            ("request_keyrecovery", "Can ask for an escrowed key to be recovered"),
            ("decide_keyrecovery", "Can approve or reject key recovery requests of others"),
        ]
        constraints = [
            # Three people: the one who asks and two different approvers.
            models.CheckConstraint(
                condition=Q(first_approver__isnull=True) | ~Q(first_approver=F("requested_by")),
                name="key_recovery_first_approver_is_not_requester",
            ),
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True)
                | (~Q(decided_by=F("requested_by")) & ~Q(decided_by=F("first_approver"))),
                name="key_recovery_second_approver_is_a_third_person",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["approved", "recovered"])
                | Q(first_approver__isnull=False, decided_by__isnull=False),
                name="key_recovery_approval_has_two_approvers",
            ),
        ]

    def __str__(self) -> str:
        return f"key recovery request #{self.pk} ({self.escrowed_key})"
