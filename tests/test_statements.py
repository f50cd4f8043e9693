"""config/statements.py: the SQL it writes reads back through the ORM exactly as the ORM would
have written it (aware datetimes, JSON, NULL foreign keys), on SQLite and PostgreSQL alike."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.db import transaction
from django.utils import timezone

from audit.events import EventType
from audit.models import AuditEvent
from config.statements import insert_one, pks_where, update_where
from personalization.models import EncoderStation
from personalization.services.stations import station_create

pytestmark = pytest.mark.django_db
APPLICATION_PACKAGES = (
    "accounts",
    "audit",
    "cardprofiles",
    "cards",
    "config",
    "demo",
    "issuance",
    "personalization",
    "pki",
    "signer",
)


def test_insert_one_writes_a_row_the_orm_reads_back_unchanged():
    created = dt.datetime(2026, 11, 29, 13, 5, 7, 123456, tzinfo=dt.UTC)
    payload = {"serial": "0A1B", "names": ["Hélène", "Nguyễn"], "count": 3, "none": None}
    with transaction.atomic():
        insert_one(
            AuditEvent,
            {
                "sequence": 1,
                "created_at": created,
                "actor": "system",
                "actor_user_id": None,
                "event": int(EventType.CARD_PERSONALIZED),
                "object_type": "card",
                "object_id": "7",
                "payload": payload,
                "prev_hash": "0" * 64,
                "hash": "f" * 64,
            },
        )
    row = AuditEvent.objects.get(sequence=1)
    assert row.created_at == created
    assert row.payload == payload
    assert row.actor_user is None
    assert row.event_type == EventType.CARD_PERSONALIZED


def test_update_where_changes_only_the_rows_that_match_every_condition():
    station = station_create(name="desk-1", transport="emulated")
    other = station_create(name="desk-2", transport="emulated")
    beat = timezone.now().replace(microsecond=0)

    missed = update_where(
        EncoderStation, {"heartbeat_at": beat}, {"id": station.pk, "worker": "someone else"}
    )
    changed = update_where(
        EncoderStation,
        {"heartbeat_at": beat, "worker": "celery@desk-1", "busy_job_id": None},
        {"id": station.pk, "worker": ""},
    )

    assert (missed, changed) == (0, 1)
    station.refresh_from_db()
    other.refresh_from_db()
    assert station.heartbeat_at == beat
    assert station.worker == "celery@desk-1"
    assert station.busy_job_id is None
    assert other.worker == ""
    assert other.heartbeat_at != beat


def test_update_where_refuses_a_none_condition_that_could_never_match():
    station = station_create(name="desk-3", transport="emulated")

    with pytest.raises(ValueError, match="busy_job_id"):
        update_where(EncoderStation, {"worker": "w"}, {"id": station.pk, "busy_job_id": None})

    station.refresh_from_db()
    assert station.worker == ""


def test_pks_where_finds_the_rows_that_match_every_condition():
    desk = station_create(name="desk-4", transport="emulated")
    station_create(name="desk-5", transport="emulated")
    EncoderStation.objects.filter(pk=desk.pk).update(worker="celery@desk-4")

    with transaction.atomic():
        locked = pks_where(EncoderStation, {"worker": "celery@desk-4"}, for_update=True)
    assert locked == [desk.pk]
    assert sorted(pks_where(EncoderStation, {"worker": ""})) == sorted(
        EncoderStation.objects.filter(worker="").values_list("pk", flat=True)
    )
    assert pks_where(EncoderStation, {"worker": "nobody"}) == []
    with pytest.raises(ValueError, match="busy_job_id"):
        pks_where(EncoderStation, {"busy_job_id": None})


def test_the_application_locks_rows_without_blocking_the_rows_that_refer_to_them():
    """docs/architecture.md, audit trail: a plain FOR UPDATE deadlocked a station worker with an
    approval; every lock in the application is FOR NO KEY UPDATE."""
    root = Path(__file__).resolve().parent.parent
    plain = [
        f"{path.relative_to(root)}:{number}"
        for app in APPLICATION_PACKAGES
        for path in sorted((root / app).rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if "select_for_update(" in line and "no_key=True" not in line
    ]
    assert plain == []
