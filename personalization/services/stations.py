"""Encoder stations: created and changed by administrators, heard from by their workers."""

from __future__ import annotations

import re

from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.events import EventType
from audit.services import audit_record
from config.errors import Conflict, FieldError, NotAllowed, ValidationFailed
from personalization.models import (
    EncoderStation,
    PersonalizationJob,
    PrintPlacement,
    PrintSides,
)
from personalization.printing import printer_uri
from personalization.services.jobs import send_on_commit

_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,48}[a-z0-9]$|^[a-z0-9]$")


def _validate(*, name: str, transport: str, reader_pattern: str) -> None:
    errors = []
    if not _NAME.match(name or ""):
        errors.append(FieldError("name", "use lower-case letters, digits and dashes (1-50)"))
    if transport not in EncoderStation.Transport.values:
        errors.append(
            FieldError("transport", f"must be one of {', '.join(EncoderStation.Transport.values)}")
        )
    if transport == EncoderStation.Transport.PCSC:
        if not reader_pattern:
            errors.append(FieldError("reader_pattern", "a PC/SC station needs a reader name"))
        else:
            try:
                re.compile(reader_pattern)
            except re.error as exc:
                errors.append(FieldError("reader_pattern", f"not a valid pattern: {exc}"))
    if errors:
        raise ValidationFailed(errors)


@transaction.atomic
def station_create(
    *,
    name: str,
    transport: str,
    reader_pattern: str = "",
    description: str = "",
    takes_approved_requests: bool = False,
    by=None,
) -> EncoderStation:
    """Add a station; its worker will listen on queue `station.<name>`.

    `by`: the user adding it, who needs `personalization.add_encoderstation`; or None for the
    system itself (bootstrap_demo, `run_station --create`, benchmarks), recorded as such in the
    audit trail (audit_record's actor None). A signed-out user is a user without the permission,
    not the system.
    """
    if by is not None and not by.has_perm("personalization.add_encoderstation"):
        raise NotAllowed("you are not allowed to add encoder stations")
    _validate(name=name, transport=transport, reader_pattern=reader_pattern)
    if EncoderStation.objects.filter(name=name).exists():
        raise ValidationFailed([FieldError("name", f"a station named {name!r} exists")])
    if takes_approved_requests:
        EncoderStation.objects.filter(takes_approved_requests=True).update(
            takes_approved_requests=False
        )
    station = EncoderStation.objects.create(
        name=name,
        transport=transport,
        reader_pattern=reader_pattern,
        description=description,
        takes_approved_requests=takes_approved_requests,
    )
    audit_record(
        event=EventType.STATION_CREATED,
        actor=by,
        obj=station,
        payload={
            "name": name,
            "transport": transport,
            "reader_pattern": reader_pattern,
            "takes_approved_requests": takes_approved_requests,
        },
    )
    return station


# What an administrator may change, and what never changes: a station's name is its Celery
# queue (`station.<name>`, where its worker listens and its waiting jobs' messages are), and
# its transport is what its worker host and its jobs' cards were set up for.
STATION_CHANGEABLE = (
    "description",
    "reader_pattern",
    "is_enabled",
    "takes_approved_requests",
    # Its card printer (personalization/printing.py): an empty URI is no printer.
    "printer_uri",
    "printer_sides",
    "printer_color",
    "printer_placement",
)
_CHOICES = {"printer_sides": PrintSides, "printer_placement": PrintPlacement}
_FIXED = {
    "name": "cannot be changed: it is the queue its worker listens on; add a new station instead",
    "transport": "cannot be changed: add a new station for the other transport",
}
_TEXT_MAX_LENGTH = {"description": 200, "reader_pattern": 200, "printer_uri": 200}


def _check_changes(changes: dict) -> list[FieldError]:
    errors = []
    for field, value in changes.items():
        if field in _FIXED:
            errors.append(FieldError(field, _FIXED[field]))
        elif field not in STATION_CHANGEABLE:
            errors.append(FieldError(field, "is not a station setting that can be changed"))
        elif field in _TEXT_MAX_LENGTH:
            if not isinstance(value, str):
                errors.append(FieldError(field, "must be text"))
            elif len(value) > _TEXT_MAX_LENGTH[field]:
                errors.append(
                    FieldError(field, f"is longer than {_TEXT_MAX_LENGTH[field]} characters")
                )
            elif field == "printer_uri" and value.strip():
                try:
                    printer_uri(value)
                except ValueError as bad:
                    errors.append(FieldError(field, str(bad)))
        elif field in _CHOICES:
            if value not in _CHOICES[field].values:
                known = ", ".join(_CHOICES[field].values)
                errors.append(FieldError(field, f"must be one of {known}, not {value!r}"))
        elif not isinstance(value, bool):
            errors.append(FieldError(field, "must be true or false"))
    return errors


def _resend_waiting_jobs(station: EncoderStation) -> int:
    """Send the station's waiting jobs again once this transaction commits. While it was
    disabled its worker gave back each job it was sent (the runner's STATION_DISABLED), so their
    messages are gone; without this they would wait for requeue_stale_jobs's next resend
    (CARDFORGE_JOB_RESEND_SECONDS). A message still queued as well is harmless: the first
    delivery claims the job, the other finds it taken."""
    jobs = list(
        PersonalizationJob.objects.filter(station=station, status=PersonalizationJob.Status.WAITING)
        .only("pk", "station_id")
        .order_by("pk")  # oldest first, as they were queued
    )
    if not jobs:
        return 0
    # queued_at is when a job was last sent (jobs_requeue_stale reads it).
    PersonalizationJob.objects.filter(
        pk__in=[job.pk for job in jobs], status=PersonalizationJob.Status.WAITING
    ).update(queued_at=timezone.now())
    for job in jobs:
        job.station = station
        send_on_commit(job)
    return len(jobs)


@transaction.atomic
def station_update(*, station: EncoderStation, by, **changes) -> EncoderStation:
    """Change `description`, `reader_pattern`, `is_enabled`, `takes_approved_requests`, or its
    printer: `printer_uri` (ipp://, ipps:// or a CUPS queue name; "" for none), `printer_sides`
    (front, both), `printer_color`, `printer_placement` (before or after encoding). A job under
    way keeps the printer settings its attempt started with.

    `by` must hold `personalization.change_encoderstation`; no part of the system changes a
    station by itself, so None is refused. Each refusal (NotAllowed, or ValidationFailed naming
    every field at fault: `name` and `transport` never change) changes nothing. Only the fields
    that differ are changed, in one transaction with one STATION_UPDATED event listing each as
    {"from": old, "to": new}; nothing differing, nothing is written.

    * `takes_approved_requests=True` moves the flag from the station that had it (named in the
      event as `takes_approved_requests_from`): at most one station takes approved requests.
    * Disabling a station clears its flag: a disabled station gets no new job (approval skips
      it, job_queue refuses it). Asking for both at once is refused. The job it is running
      keeps the station and finishes (the runner's `_take_station`); jobs waiting on it stay
      waiting, however often they are sent, until it is enabled again.
    * Enabling a station sends its waiting jobs to its queue again, once this commits.
    """
    if by is None or not by.has_perm("personalization.change_encoderstation"):
        raise NotAllowed("you are not allowed to change encoder stations")
    errors = _check_changes(changes)
    if errors:
        raise ValidationFailed(errors)
    station = EncoderStation.objects.select_for_update(no_key=True).get(pk=station.pk)
    new = {field: changes.get(field, getattr(station, field)) for field in STATION_CHANGEABLE}
    try:
        _validate(
            name=station.name, transport=station.transport, reader_pattern=new["reader_pattern"]
        )
    except ValidationFailed as error:
        errors.extend(error.errors)
    if not new["is_enabled"] and new["takes_approved_requests"]:
        if changes.get("takes_approved_requests") is True:
            errors.append(
                FieldError(
                    "takes_approved_requests",
                    "a disabled station takes no approved requests; enable it as well",
                )
            )
        else:
            new["takes_approved_requests"] = False
    if errors:
        raise ValidationFailed(errors)

    changed = {
        field: {"from": getattr(station, field), "to": new[field]}
        for field in STATION_CHANGEABLE
        if new[field] != getattr(station, field)
    }
    if not changed:
        return station
    payload: dict = {"name": station.name, "changed": changed}
    try:
        with transaction.atomic():
            if new["takes_approved_requests"] and "takes_approved_requests" in changed:
                previous = list(
                    EncoderStation.objects.select_for_update(no_key=True)
                    .filter(takes_approved_requests=True)
                    .exclude(pk=station.pk)
                )
                EncoderStation.objects.filter(pk__in=[other.pk for other in previous]).update(
                    takes_approved_requests=False
                )
                payload["takes_approved_requests_from"] = (
                    ", ".join(other.name for other in previous) or None
                )
            for field in changed:
                setattr(station, field, new[field])
            station.save(update_fields=list(changed))
    except IntegrityError:
        # Only one_station_takes_approved_requests can fail here (the reader is validated):
        # another administrator gave the flag to a third station at the same moment.
        raise Conflict(
            "another station was just set to take approved requests; look again and retry",
            code="station_conflict",
        ) from None
    if "is_enabled" in changed and station.is_enabled:
        payload["waiting_jobs_sent"] = _resend_waiting_jobs(station)
    audit_record(event=EventType.STATION_UPDATED, actor=by, obj=station, payload=payload)
    return station


def station_ensure(
    *, name: str, transport: str, reader_pattern: str = "", **options
) -> EncoderStation:
    """The station named `name`, created if missing (bootstrap_demo, run_station)."""
    station = EncoderStation.objects.filter(name=name).first()
    return station or station_create(
        name=name, transport=transport, reader_pattern=reader_pattern, **options
    )
