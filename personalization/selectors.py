"""Reads for the personalization API and back office: stations, jobs with their progress,
batches with their counts, cards with their certificates and documents.

Nothing here returns a secret: job step details are the journal's non-secret record, and a PIN
mailer is only ever described (available, downloaded when and by whom), never opened.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, F, Q, QuerySet

from audit.events import EventType
from audit.labels import labels_of_model
from audit.models import AuditEvent
from cards.models import Card, CardActionRequest, CardRequest, PinMailer
from config.errors import FieldError, ValidationFailed
from issuance.models import Professional
from personalization.models import EncoderStation, JobBatch, JobStep, PersonalizationJob
from personalization.runner.plan import step_label, step_names
from pki.models import Certificate

STATION_STATUSES = ("idle", "busy", "offline", "disabled")


# --- stations ---------------------------------------------------------------------------------


def station_list() -> QuerySet:
    # An annotated (GROUP BY) query ignores Meta.ordering: order explicitly.
    return (
        EncoderStation.objects.select_related("busy_job")
        .annotate(
            waiting_jobs=Count("jobs", filter=Q(jobs__status=PersonalizationJob.Status.WAITING))
        )
        .order_by("name")
    )


def station_current_job(station: EncoderStation) -> PersonalizationJob | None:
    """The job the station is working on now, if any (its lease, while the job runs)."""
    job = station.busy_job
    if job is None or job.status != PersonalizationJob.Status.RUNNING:
        return None
    return job


# --- jobs -------------------------------------------------------------------------------------


def _job_queryset() -> QuerySet:
    """Jobs with what their pages show, and `steps_done`: the steps of the current attempt
    recorded so far."""
    return (
        PersonalizationJob.objects.select_related(
            "station",
            "batch",
            "card",
            "created_by",
            "card_request__professional",
            "card_request__card_profile",
            "card_request__profile_version",
        )
        .annotate(steps_done=Count("steps", filter=Q(steps__attempt=F("attempt"))))
        .order_by("-created_at", "-pk")
    )


def job_list(
    *,
    status: str = "",
    station: str = "",
    batch: int | None = None,
    card_request: CardRequest | None = None,
) -> QuerySet:
    """Jobs, newest first. `station` is a station name; unknown filter values are errors."""
    errors = []
    if status and status not in PersonalizationJob.Status.values:
        errors.append(
            FieldError("status", f"must be one of {', '.join(PersonalizationJob.Status.values)}")
        )
    if station and not EncoderStation.objects.filter(name=station).exists():
        errors.append(FieldError("station", f"no station named {station!r}"))
    if errors:
        raise ValidationFailed(errors)
    jobs = _job_queryset()
    if status:
        jobs = jobs.filter(status=status)
    if station:
        jobs = jobs.filter(station__name=station)
    if batch is not None:
        jobs = jobs.filter(batch_id=batch)
    if card_request is not None:
        jobs = jobs.filter(card_request=card_request)
    return jobs


def job_get(*, pk: int) -> PersonalizationJob:
    return _job_queryset().get(pk=pk)


@dataclass(frozen=True)
class StepProgress:
    name: str
    label: str
    state: str  # done, current, failed or pending
    started_at: datetime | None = None
    finished_at: datetime | None = None
    apdus: int | None = None
    detail: dict | None = None


@dataclass(frozen=True)
class JobProgress:
    """Where a job stands in its current attempt: each planned step and how many are done."""

    job: PersonalizationJob
    steps: list[StepProgress]

    @property
    def done(self) -> int:
        return sum(1 for step in self.steps if step.state == "done")

    @property
    def total(self) -> int:
        return len(self.steps)

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0

    @property
    def current(self) -> StepProgress | None:
        return next((s for s in self.steps if s.state in ("current", "failed")), None)


def job_progress(job: PersonalizationJob) -> JobProgress:
    """The steps of the job's current attempt, in order, each done, current, failed or pending.

    The plan comes from the request's card profile (`step_names`); the journal says which steps
    are recorded. A running job's current step is the one it reported last.
    """
    recorded = {step.name: step for step in JobStep.objects.filter(job=job, attempt=job.attempt)}
    status = job.status
    steps = []
    for name in step_names(job):
        entry = recorded.get(name)
        if entry is not None:
            steps.append(
                StepProgress(
                    name=name,
                    label=step_label(name),
                    state="done",
                    started_at=entry.started_at,
                    finished_at=entry.finished_at,
                    apdus=entry.apdus,
                    detail=entry.detail,
                )
            )
            continue
        state = "pending"
        if name == job.current_step:
            if status == PersonalizationJob.Status.RUNNING:
                state = "current"
            elif status == PersonalizationJob.Status.FAILED:
                state = "failed"
        steps.append(StepProgress(name=name, label=step_label(name), state=state))
    return JobProgress(job=job, steps=steps)


# --- batches ----------------------------------------------------------------------------------


def _count(status: str) -> Count:
    return Count("jobs", filter=Q(jobs__status=status))


def batch_list() -> QuerySet:
    """Batches with how many of their jobs are done, failed, waiting, running or cancelled."""
    statuses = PersonalizationJob.Status
    return (
        JobBatch.objects.select_related("created_by")
        .annotate(
            total=Count("jobs"),
            done=_count(statuses.DONE),
            failed=_count(statuses.FAILED),
            waiting=_count(statuses.WAITING),
            running=_count(statuses.RUNNING),
            cancelled=_count(statuses.CANCELLED),
        )
        .order_by("-created_at", "-pk")
    )


def batch_get(*, pk: int) -> JobBatch:
    return batch_list().get(pk=pk)


# --- cards ------------------------------------------------------------------------------------


def card_list(*, professional: str = "", status: str = "", serial: str = "") -> QuerySet:
    """Cards, newest first. `professional` is an RPPS number (or its start) or words of the
    name; `serial` the printed serial (or its start)."""
    if status and status not in Card.Status.values:
        raise ValidationFailed(
            [FieldError("status", f"must be one of {', '.join(Card.Status.values)}")]
        )
    cards = Card.objects.select_related(
        "professional",
        "card_profile",
        "profile_version",
        "station",
        "pin_mailer__downloaded_by",
    )
    if professional.strip():
        cards = cards.filter(
            professional__in=Professional.objects.search(professional).values("pk")
        )
    if status:
        cards = cards.filter(status=status)
    if serial.strip():
        cards = cards.filter(serial__startswith=serial.strip())
    return cards


def card_certificates(card: Card) -> list[Certificate]:
    """The card's certificates by slot (9A, 9C, 9D, 9E), newest first within a slot."""
    certificates = Certificate.objects.for_card(card).select_related("ca")
    return sorted(certificates, key=lambda c: (c.card_slot, -c.issued_at.timestamp()))


def card_pin_mailer(card: Card) -> PinMailer | None:
    try:
        return card.pin_mailer
    except PinMailer.DoesNotExist:
        return None


def card_job(card: Card) -> PersonalizationJob | None:
    """The job that made (or is making) the card."""
    return _job_queryset().filter(card=card).first()


@dataclass(frozen=True)
class CardDocuments:
    """Which documents of a card can be downloaded now."""

    card_face: bool
    carrier: bool
    pin_mailer: bool


def card_documents(card: Card) -> CardDocuments:
    personalized = card.status in (Card.Status.PERSONALIZED, Card.Status.DELIVERED)
    mailer = card_pin_mailer(card)
    return CardDocuments(
        card_face=personalized,
        carrier=personalized,
        pin_mailer=personalized and mailer is not None and mailer.is_available,
    )


# --- card requests ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestPersonalization:
    """What a card request's page shows about its personalization."""

    job: PersonalizationJob | None  # the latest job
    progress: JobProgress | None  # the latest job's
    jobs: list[PersonalizationJob]
    can_queue: bool  # approved, and no job waiting, running or done


def card_request_personalization(card_request: CardRequest) -> RequestPersonalization:
    jobs = list(job_list(card_request=card_request))
    latest = jobs[0] if jobs else None
    return RequestPersonalization(
        job=latest,
        progress=job_progress(latest) if latest else None,
        jobs=jobs,
        can_queue=can_be_queued(card_request, latest),
    )


_LIVE = (
    PersonalizationJob.Status.WAITING,
    PersonalizationJob.Status.RUNNING,
    PersonalizationJob.Status.DONE,
)


def can_be_queued(card_request: CardRequest, latest_job: PersonalizationJob | None) -> bool:
    """Approved, and no job waiting, running or done (a failed or cancelled one may be)."""
    return card_request.status == CardRequest.Status.APPROVED and (
        latest_job is None or latest_job.status not in _LIVE
    )


def latest_jobs_by_request(card_requests) -> dict[int, PersonalizationJob]:
    """The latest job of each of these requests (for a list of requests)."""
    latest: dict[int, PersonalizationJob] = {}
    jobs = PersonalizationJob.objects.filter(card_request__in=list(card_requests)).order_by(
        "card_request_id", "-pk"
    )
    for job in jobs:
        latest.setdefault(job.card_request_id, job)
    return latest


def stations_for_queueing() -> QuerySet:
    return EncoderStation.objects.filter(is_enabled=True)


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    what: str  # the event, in words ("Card revoked")
    actor: str  # who, or "" for the system
    about: str  # what it concerns: "card", "certificate 9A", "job #3", "request #2"…
    details: str  # the payload's telling fields, as words
    sequence: int  # its place in the audit trail


# Payload fields worth a line on a card's history, in this order (never a secret: audit
# payloads hold none).
_TIMELINE_FIELDS = (
    "reason",
    "certificate_reason",
    "action",
    "emergency",
    "step",
    "error",
    "message",
    "document",
    "station",
    "attempt",
    "comment",
)


def _timeline_details(payload: dict) -> str:
    parts = []
    for name in _TIMELINE_FIELDS:
        value = payload.get(name)
        if value in (None, "", False, [], {}):
            continue
        if value is True:
            parts.append(name.replace("_", " "))
        else:
            parts.append(f"{name.replace('_', ' ')}: {value}")
    return "; ".join(parts)


def card_timeline(card: Card) -> list[TimelineEntry]:
    """The card's whole history from the audit trail, oldest first: its request (submitted,
    approved), its jobs, its certificates (issued, held, released, revoked), the card itself
    (personalized, delivered, activated, suspended, revoked, documents, PIN mailer) and the
    officers' requests about it."""
    about: dict[tuple[str, str], str] = {}

    def name(model, pk, label: str) -> None:
        for type_label in labels_of_model(model):
            about[type_label, str(pk)] = label

    name(Card, card.pk, "card")
    name(CardRequest, card.card_request_id, f"request #{card.card_request_id}")
    for certificate in Certificate.objects.for_card(card).only("pk", "card_slot"):
        name(Certificate, certificate.pk, f"certificate {certificate.card_slot}")
    for job_pk in PersonalizationJob.objects.filter(card=card).values_list("pk", flat=True):
        name(PersonalizationJob, job_pk, f"job #{job_pk}")
    for action_pk in CardActionRequest.objects.filter(card=card).values_list("pk", flat=True):
        name(CardActionRequest, action_pk, f"card action #{action_pk}")
    wanted = Q()
    by_type: dict[str, list[str]] = {}
    for type_label, pk in about:
        by_type.setdefault(type_label, []).append(pk)
    for type_label, pks in by_type.items():
        wanted |= Q(object_type=type_label, object_id__in=pks)
    entries = []
    for event in AuditEvent.objects.filter(wanted).order_by("sequence"):
        try:
            what = EventType(event.event).label
        except ValueError:
            what = f"event {event.event}"
        entries.append(
            TimelineEntry(
                at=event.created_at,
                what=what,
                actor=event.actor,
                about=about.get((event.object_type, event.object_id), event.object_type),
                details=_timeline_details(event.payload or {}),
                sequence=event.sequence,
            )
        )
    return entries
