"""On PostgreSQL the database itself refuses to change or delete audit rows: a trigger for
every role (the owner included), and grants that give the application's role no UPDATE, DELETE
or TRUNCATE on the trail (audit/migrations/0004, docs/operations.md)."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from audit.events import EventType
from audit.guards import audit_grants_sql
from audit.models import AuditEvent
from audit.selectors import audit_chain_verify
from audit.services import audit_record
from tests.factories import make_user

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

APP_ROLE = "cardforge_app_guard_test"


def _write(count: int) -> None:
    for index in range(count):
        with transaction.atomic():
            audit_record(event=EventType.USER_LOGGED_IN, payload={"n": index})


def _refused(sql: str, params: list | None = None) -> str:
    with (
        pytest.raises(DatabaseError) as refused,
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, params or [])
    return str(refused.value)


@pytest.fixture
def app_role():
    """A role granted what the application's role is granted on the audit tables."""
    with connection.cursor() as cursor:
        cursor.execute(f"DROP ROLE IF EXISTS {APP_ROLE}")
        cursor.execute(f"CREATE ROLE {APP_ROLE} NOLOGIN")
        cursor.execute(f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}")
        for statement in audit_grants_sql(APP_ROLE):
            cursor.execute(statement)
    yield APP_ROLE
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")
        cursor.execute(f"DROP OWNED BY {APP_ROLE}")
        cursor.execute(f"DROP ROLE {APP_ROLE}")


def test_the_trigger_refuses_an_update_or_delete_even_by_the_tables_owner():
    _write(3)
    assert "append-only" in _refused("UPDATE audit_auditevent SET actor = 'mallory'")
    assert "append-only" in _refused("DELETE FROM audit_auditevent WHERE sequence = 3")
    assert "append-only" in _refused("DELETE FROM audit_auditchainhead")
    assert list(AuditEvent.objects.values_list("actor", flat=True)) == ["", "", ""]
    assert audit_chain_verify().intact


def test_the_applications_role_may_append_and_read_but_not_change_the_trail(app_role):
    _write(2)
    with connection.cursor() as cursor:
        cursor.execute(f"SET ROLE {app_role}")
    try:
        _write(1)  # appending: INSERT on events, UPDATE of the head row
        message = _refused("UPDATE audit_auditevent SET actor = 'mallory' WHERE sequence = 1")
        assert "permission denied" in message
        assert "permission denied" in _refused("DELETE FROM audit_auditevent")
        assert "permission denied" in _refused("TRUNCATE audit_auditevent")
        assert "permission denied" in _refused("DELETE FROM audit_auditchainhead")
        assert "must be owner" in _refused("ALTER TABLE audit_auditevent DISABLE TRIGGER USER")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")
    assert AuditEvent.objects.count() == 3
    assert audit_chain_verify().intact


def test_a_user_deleted_keeps_the_events_that_name_them():
    """The only change the trigger lets through: the actor's link cleared when a user account is
    deleted (on_delete=SET_NULL); the username the event recorded, which is hashed, stays."""
    user = make_user(None, username="leaving")
    with transaction.atomic():
        audit_record(event=EventType.USER_LOGGED_IN, actor=user)
    user.delete()
    event = AuditEvent.objects.get()
    assert (event.actor, event.actor_user_id) == ("leaving", None)
    assert audit_chain_verify().intact
