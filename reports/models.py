from django.conf import settings
from django.db import models


class AuditReport(models.Model):
    """A report asked for a period (and optionally an organisation, card profile or station):
    built by a worker (reports/tasks.py), signed by the signer, then downloadable as a signed
    PDF and a zip of CSV files (docs/reports.md)."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        BUILDING = "building", "Building"
        SIGNING = "signing", "Being signed"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    start = models.DateField()
    end = models.DateField()
    organisation = models.ForeignKey(
        "issuance.Organisation", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    card_profile = models.ForeignKey(
        "cardprofiles.CardProfile",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    station = models.ForeignKey(
        "personalization.EncoderStation",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done.")
    stage = models.CharField(max_length=100, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    pdf = models.BinaryField(null=True, blank=True, editable=False)
    pdf_sha256 = models.CharField(max_length=64, blank=True, editable=False)
    csv_zip = models.BinaryField(null=True, blank=True, editable=False)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(start__lte=models.F("end")), name="reports_period_order"
            ),
        ]

    def __str__(self) -> str:
        return f"audit report {self.start} to {self.end}"

    @property
    def file_stem(self) -> str:
        return f"cardforge-audit-{self.start:%Y%m%d}-{self.end:%Y%m%d}-{self.pk}"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.READY, self.Status.FAILED)
