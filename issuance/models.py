from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

from issuance.identity import postal_address_lines
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
