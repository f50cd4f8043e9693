"""Changing the audit tables behind the application's back, as a database administrator would."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection

GUARDED_TABLES = ("audit_auditevent", "audit_auditchainhead")


@contextmanager
def database_administrator() -> Iterator:
    """A cursor free of the application's guards: on PostgreSQL the tables' own triggers are
    disabled for the while (their owner may; audit/migrations/0004), as an attacker with the
    owner's or a superuser's access would do first."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A table with deferred foreign-key checks pending cannot be altered: run them now.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for table in GUARDED_TABLES:
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        try:
            yield cursor
        finally:
            if connection.vendor == "postgresql":
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                for table in GUARDED_TABLES:
                    cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")
