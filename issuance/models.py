from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Q

from cardprofiles.models import CardProfile, CardProfileVersion
from config.four_eyes import FourEyes, four_eyes_constraints
from issuance.identity import Identity, postal_address_lines
from issuance.professions import Profession
from issuance.validators import validate_finess, validate_rpps

_country_code = RegexValidator(r"^[A-Z]{2}$", "Use an ISO 3166-1 alpha-2 code such as FR.")
_phone = RegexValidator(r"^\+?[0-9 ().-]{4,30}$", "Use digits, spaces and + ( ) . - only.")


class Organisation(models.Model):
    """A health establishment, identified by its FINESS number."""

    name = models.CharField(max_length=200)
    finess = models.CharField(
        "FINESS number", max_length=9, unique=True, validators=[validate_finess]
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.finess})"


class ProfessionalQuerySet(models.QuerySet):
    def search(self, text: str) -> "ProfessionalQuerySet":
        text = text.strip()
        if not text:
            return self
        if text.isdigit():
            return self.filter(rpps__startswith=text)
        query = Q()
        for word in text.split():
            query &= (
                Q(last_name__icontains=word)
                | Q(first_name__icontains=word)
                | Q(email__icontains=word)
                | Q(city__icontains=word)
            )
        return self.filter(query)


class Professional(models.Model):
    """A healthcare professional in the registry, identified by their RPPS number."""

    rpps = models.CharField("RPPS number", max_length=11, unique=True, validators=[validate_rpps])
    last_name = models.CharField(max_length=150)
    first_name = models.CharField(max_length=150)
    profession = models.PositiveSmallIntegerField(choices=Profession.choices)
    specialty = models.CharField(max_length=200, blank=True)
    email = models.EmailField(max_length=254)
    phone = models.CharField(max_length=32, blank=True, validators=[_phone])
    address_line1 = models.CharField(max_length=200, blank=True)
    address_line2 = models.CharField(max_length=200, blank=True)
    postal_code = models.CharField(max_length=16, blank=True)
    city = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=2, default="FR", validators=[_country_code])
    photo = models.ImageField(upload_to="photos/", blank=True)
    organisation = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="professionals",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProfessionalQuerySet.as_manager()

    # Fields an import or a form may set, in CSV column order.
    EDITABLE_FIELDS = (
        "rpps",
        "last_name",
        "first_name",
        "profession",
        "email",
        "specialty",
        "phone",
        "address_line1",
        "address_line2",
        "postal_code",
        "city",
        "country",
        "organisation",
    )

    class Meta:
        ordering = ["last_name", "first_name", "rpps"]
        permissions = [("import_professionals", "Can import professionals from CSV files")]
        indexes = [models.Index(fields=["last_name", "first_name"])]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.rpps})"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def postal_address_lines(self) -> list[str]:
        return postal_address_lines(self)


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
    decide_permission="issuance.decide_cardrequest",
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

    class Meta:
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
