import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from cards.models import Card, CardRequest


class PrintSides(models.TextChoices):
    FRONT = "front", "Front only"
    BOTH = "both", "Front and back"


class PrintPlacement(models.TextChoices):
    BEFORE = "before", "Before encoding"
    AFTER = "after", "After encoding"


class EncoderStation(models.Model):
    """A card encoder: one Celery queue (`station.<name>`) bound to one transport and reader.

    A station handles one card at a time: its worker runs with concurrency 1, and the runner
    also takes the station row's lease (`busy_job`) before touching a card.
    """

    class Transport(models.TextChoices):
        EMULATED = "emulated", "Emulated cards (stored in the database)"
        PCSC = "pcsc", "PC/SC reader"

    name = models.SlugField(max_length=50, unique=True)
    description = models.CharField(max_length=200, blank=True)
    transport = models.CharField(max_length=16, choices=Transport.choices)
    reader_pattern = models.CharField(
        max_length=200,
        blank=True,
        help_text="PC/SC only: the reader's name, or a regular expression matching it.",
    )
    is_enabled = models.BooleanField(default=True)
    takes_approved_requests = models.BooleanField(
        default=False, help_text="Approved card requests are queued here automatically."
    )
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=200, blank=True, help_text="The worker last seen.")
    # Its card printer (personalization/printing.py, docs/personalization.md "Card printers"):
    # none when the URI is empty. ID-1 cards only (the card face is 85.60 x 53.98 mm).
    printer_uri = models.CharField(
        max_length=200,
        blank=True,
        help_text="ipp://host:631/ipp/print, ipps://…, or the name of a CUPS queue on the "
        "station's host; empty: no printer.",
    )
    printer_sides = models.CharField(
        max_length=8, choices=PrintSides.choices, default=PrintSides.BOTH
    )
    printer_color = models.BooleanField(default=True, help_text="Print in colour.")
    printer_placement = models.CharField(
        max_length=8, choices=PrintPlacement.choices, default=PrintPlacement.AFTER
    )
    # What the printer last said (the print step and the station's ping ask it).
    printer_state = models.CharField(max_length=200, blank=True)
    printer_checked_at = models.DateTimeField(null=True, blank=True)
    busy_job = models.ForeignKey(
        "PersonalizationJob", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Its identity towards the signer (docs/signer.md): the certificate CardForge's PKI issued
    # for the key its host keeps (CARDFORGE_STATION_KEYS_DIR); none until it is enrolled.
    certificate = models.ForeignKey(
        "pki.Certificate", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["takes_approved_requests"],
                condition=Q(takes_approved_requests=True),
                name="one_station_takes_approved_requests",
            ),
            models.CheckConstraint(
                condition=Q(transport="emulated") | ~Q(reader_pattern=""),
                name="pcsc_station_names_a_reader",
                violation_error_message="A PC/SC station needs a reader name or pattern.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def queue(self) -> str:
        return f"station.{self.name}"

    def is_online(self, *, now=None) -> bool:
        if self.heartbeat_at is None:
            return False
        now = now or timezone.now()
        return (
            now - self.heartbeat_at
        ).total_seconds() < settings.CARDFORGE_STATION_OFFLINE_SECONDS

    @property
    def status(self) -> str:
        if not self.is_enabled:
            return "disabled"
        if not self.is_online():
            return "offline"
        return "busy" if self.busy_job_id else "idle"


class EmulatedCard(models.Model):
    """A card that exists only as emulator state: persisted here, sealed under the KEK, so a
    card personalized today can be read, used and managed tomorrow (`emulate_card --card`)."""

    serial = models.PositiveIntegerField(unique=True, help_text="The chip serial (Yubico F8).")
    state = models.BinaryField(null=True, editable=False, help_text="Sealed emulator state.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["serial"]

    def __str__(self) -> str:
        return f"emulated card {self.serial}"


class JobBatch(models.Model):
    """Requests queued together (an approval or queueing of many at once)."""

    name = models.CharField(max_length=200)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.name


class PersonalizationJobQuerySet(models.QuerySet):
    def active(self):
        return self.filter(status__in=PersonalizationJob.Status.active_values())


class PersonalizationJob(models.Model):
    """The personalization of one card request: a journal of idempotent steps (JobStep)."""

    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting"
        RUNNING = "running", "Running"
        DONE = "done", "Personalized"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

        @classmethod
        def active_values(cls) -> list[str]:
            return [cls.WAITING, cls.RUNNING]

    class Kind(models.TextChoices):
        PERSONALIZE = "personalize", "Personalization"
        UNBLOCK = "unblock", "PIN unblock"  # an approved unblock of a card (card_action)

    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.PERSONALIZE)
    card_request = models.ForeignKey(
        CardRequest, on_delete=models.PROTECT, related_name="personalization_jobs"
    )
    # An unblock job's approved request (cards.CardActionRequest, action "unblock").
    card_action = models.ForeignKey(
        "cards.CardActionRequest",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="jobs",
    )
    station = models.ForeignKey(EncoderStation, on_delete=models.PROTECT, related_name="jobs")
    batch = models.ForeignKey(
        JobBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.WAITING)
    attempt = models.PositiveIntegerField(default=1)
    current_step = models.CharField(max_length=40, blank=True)
    card = models.ForeignKey(
        Card, null=True, blank=True, on_delete=models.PROTECT, related_name="jobs"
    )
    # The station's printer as this attempt started (runner/plan.py reads it): a setting
    # changed meanwhile does not change the steps of a job under way. Empty: no printing.
    printing = models.JSONField(default=dict, blank=True)
    error_code = models.CharField(max_length=60, blank=True)
    error_message = models.TextField(blank=True)
    lease_owner = models.CharField(max_length=200, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    queued_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PersonalizationJobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        permissions = [
            ("retry_personalizationjob", "Can retry a failed personalization job"),
            ("cancel_personalizationjob", "Can cancel a waiting personalization job"),
            ("abandon_personalizationjob", "Can abandon a stalled personalization job"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["card_request"],
                condition=Q(status__in=["waiting", "running", "done"], kind="personalize"),
                name="one_live_job_per_request",
                violation_error_message="This request already has a personalization job.",
            ),
            models.UniqueConstraint(
                fields=["card_action"],
                condition=Q(status__in=["waiting", "running", "done"], kind="unblock"),
                name="one_live_unblock_job_per_action",
            ),
            models.CheckConstraint(
                condition=Q(kind="personalize", card_action__isnull=True)
                | Q(kind="unblock", card_action__isnull=False, card__isnull=False),
                name="unblock_job_names_its_approval_and_card",
            ),
        ]
        indexes = [models.Index(fields=["status", "heartbeat_at"])]

    def __str__(self) -> str:
        return f"job #{self.pk} for request #{self.card_request_id}"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED, self.Status.CANCELLED)

    def is_stalled(self, *, now=None) -> bool:
        """Running, but its worker has been silent for CARDFORGE_JOB_STALE_SECONDS: no live
        worker holds it. The runner's claim takes such a job over (the same test as
        `job_states.job_claim`); if no worker ever comes back, `job_abandon` ends it."""
        if self.status != self.Status.RUNNING:
            return False
        if self.heartbeat_at is None:
            return True
        now = now or timezone.now()
        return self.heartbeat_at < now - dt.timedelta(seconds=settings.CARDFORGE_JOB_STALE_SECONDS)


class JobStep(models.Model):
    """One journal entry: a step of one attempt, recorded when done. `detail` holds what later
    steps need and what an operator may read (public keys, certificate ids), never a secret."""

    job = models.ForeignKey(PersonalizationJob, on_delete=models.CASCADE, related_name="steps")
    attempt = models.PositiveIntegerField()
    name = models.CharField(max_length=40)
    detail = models.JSONField(default=dict)
    apdus = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()

    class Meta:
        ordering = ["job", "attempt", "finished_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["job", "attempt", "name"], name="job_step_recorded_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.job} step {self.name}"


class JobDelivery(models.Model):
    """What the signer made for one attempt of a job and only its station may open: the card's
    PIN and PUK, its centrally made private keys and its management key, sealed for the station
    (docs/signer.md). Destroyed when the job ends; never shown by a page or the API."""

    job = models.ForeignKey(PersonalizationJob, on_delete=models.CASCADE, related_name="+")
    attempt = models.PositiveIntegerField()
    sealed = models.BinaryField(editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "attempt"], name="one_delivery_per_attempt")
        ]

    def __str__(self) -> str:
        return f"delivery for {self.job}, attempt {self.attempt}"


class CardPrint(models.Model):
    """One card face sent to a station's printer (runner/steps/printing.py): recorded as soon as
    the printer took it, so a job resumed after a crash waits for that print instead of
    printing the card twice."""

    class State(models.TextChoices):
        SENT = "sent", "Sent to the printer"
        COMPLETED = "completed", "Printed"
        ABORTED = "aborted", "Aborted by the printer"
        CANCELED = "canceled", "Canceled"
        REFUSED = "refused", "Refused by the printer"

    job = models.ForeignKey(PersonalizationJob, on_delete=models.PROTECT, related_name="prints")
    attempt = models.PositiveIntegerField()
    card = models.ForeignKey(Card, on_delete=models.PROTECT, related_name="prints")
    printer_uri = models.CharField(max_length=200)
    job_name = models.CharField(max_length=200)
    ipp_job_id = models.PositiveIntegerField(null=True, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.SENT)
    reasons = models.CharField(max_length=300, blank=True)
    pages = models.PositiveSmallIntegerField(default=1)
    document_sha256 = models.CharField(max_length=64, blank=True)
    sent_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-sent_at", "-pk"]

    def __str__(self) -> str:
        return f"print of card {self.card_id} (IPP job {self.ipp_job_id})"
