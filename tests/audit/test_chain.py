"""The audit trail detects an edited, a deleted and a swapped row, and `verify_audit` says where."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from audit.chain import PayloadError
from audit.events import EventType
from audit.models import AppendOnlyError, AuditEvent
from audit.selectors import audit_chain_verify
from audit.services import audit_record
from tests.audit.tampering import database_administrator

pytestmark = pytest.mark.django_db


def _write(count: int) -> None:
    for index in range(count):
        with transaction.atomic():
            audit_record(
                event=EventType.PROFESSIONAL_CREATED,
                object_type="issuance.professional",
                object_id=str(index),
                payload={"rpps": f"{index:011d}", "names": ["Zoé", "Ærøskøbing"]},
            )


def _raw_update(row: int, **columns) -> None:
    """Tamper with a row behind the ORM's back, as someone with database access would."""
    assignments = ", ".join(f"{name} = %s" for name in columns)
    with database_administrator() as cursor:
        cursor.execute(
            f"UPDATE audit_auditevent SET {assignments} WHERE sequence = %s",
            [*columns.values(), row],
        )


def _verify_exit(capsys) -> tuple[int, str]:
    try:
        call_command("verify_audit")
    except CommandError as error:
        return error.returncode, str(error)
    return 0, capsys.readouterr().out


def test_intact_chain_verifies_and_counts(capsys):
    _write(5)
    code, output = _verify_exit(capsys)
    assert code == 0
    assert "intact: 5 events" in output


def test_edited_payload_is_detected_at_its_sequence(capsys):
    _write(5)
    _raw_update(3, payload='{"rpps": "forged"}')
    code, output = _verify_exit(capsys)
    assert code == 1
    assert "broken at event 3" in output
    assert "altered" in output


def test_edited_actor_is_detected(capsys):
    _write(4)
    _raw_update(2, actor="mallory")
    assert _verify_exit(capsys)[0] == 1
    assert audit_chain_verify().broken_at == 2


def test_deleted_row_is_detected(capsys):
    _write(5)
    with database_administrator() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE sequence = 4")
    code, output = _verify_exit(capsys)
    assert code == 1
    assert "broken at event 4" in output
    assert "missing" in output


def test_deleted_last_row_is_detected_through_the_chain_head(capsys):
    _write(5)
    with database_administrator() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE sequence = 5")
    code, output = _verify_exit(capsys)
    assert code == 1
    assert "broken at event 5" in output


def test_swapped_rows_are_detected(capsys):
    _write(6)
    # Exchange the sequence numbers of events 3 and 4 (reordering history).
    _raw_update(3, sequence=-3)
    _raw_update(4, sequence=3)
    _raw_update(-3, sequence=4)
    code, output = _verify_exit(capsys)
    assert code == 1
    assert "broken at event 3" in output


def test_events_cannot_be_changed_or_deleted_through_the_orm():
    _write(1)
    event = AuditEvent.objects.get()
    event.actor = "someone"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.update(actor="x")


@pytest.mark.django_db(transaction=True)
def test_events_are_written_only_inside_a_transaction():
    with pytest.raises(RuntimeError, match="same transaction"):
        audit_record(event=EventType.USER_LOGGED_IN)


@pytest.mark.parametrize(
    "payload",
    [{"pin": "123456"}, {"new_puk": "12345678"}, {"nested": {"password": "x"}}, {"ratio": 1.5}],
)
def test_payloads_with_secrets_or_floats_are_refused(payload):
    with pytest.raises(PayloadError), transaction.atomic():
        audit_record(event=EventType.USER_LOGGED_IN, payload=payload)
    assert AuditEvent.objects.count() == 0


def _record_then_fail() -> None:
    with transaction.atomic():
        audit_record(event=EventType.USER_LOGGED_IN)
        raise ZeroDivisionError


def test_event_rolled_back_with_its_change():
    with pytest.raises(ZeroDivisionError):
        _record_then_fail()
    assert AuditEvent.objects.count() == 0
    _write(1)
    assert audit_chain_verify().intact
