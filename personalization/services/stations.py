"""Encoder stations: created and changed by administrators, heard from by their workers."""

from __future__ import annotations

import re

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audit.events import EventType
from audit.services import audit_record
from config.errors import FieldError, ValidationFailed
from personalization.models import EncoderStation

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


def station_ensure(
    *, name: str, transport: str, reader_pattern: str = "", **options
) -> EncoderStation:
    """The station named `name`, created if missing (bootstrap_demo, run_station)."""
    station = EncoderStation.objects.filter(name=name).first()
    return station or station_create(
        name=name, transport=transport, reader_pattern=reader_pattern, **options
    )


def station_heartbeat(*, station_id: int, worker: str) -> None:
    EncoderStation.objects.filter(pk=station_id).update(
        heartbeat_at=timezone.now(), worker=worker[:200]
    )


def stations_worker_started(*, names: list[str], worker: str) -> None:
    """The worker of these stations is ready: they are online from now (Celery worker_ready)."""
    EncoderStation.objects.filter(name__in=names).update(
        heartbeat_at=timezone.now(), worker=worker[:200]
    )


def stations_worker_stopped(*, names: list[str], worker: str) -> None:
    """The worker of these stations stopped cleanly: offline at once, unless another worker
    has answered for them since (Celery worker_shutdown)."""
    EncoderStation.objects.filter(name__in=names).filter(
        Q(worker=worker[:200]) | Q(worker__startswith=f"{worker}/")
    ).update(heartbeat_at=None)
