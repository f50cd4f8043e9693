"""What a migration must keep, read from a SQLite file with raw SQL and no Django model.

Shared by `make_fixture.py` (which records it, on the old code) and the test (which reads it
again after `migrate`, on the new code): only the standard library, so it reads the same on both
sides of a change to the models.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

# The tables of the old layout whose every row must survive, by their name in the fixture.
TABLES = (
    "issuance_cardrequest",
    "personalization_card",
    "personalization_pinmailer",
    "personalization_escrowedkey",
    "pki_certificate",
    "personalization_personalizationjob",
    "audit_auditevent",
)


def _value(value: object) -> object:
    # SQLite hands back int, float, str, bytes or None; bytes as hex so the row is JSON.
    if isinstance(value, bytes):
        return {"hex": value.hex()}
    return value


def row_digest(row: dict[str, object]) -> str:
    """SHA-256 of the row's columns as canonical JSON (sorted names, no whitespace, UTF-8)."""
    encoded = json.dumps(
        {name: _value(value) for name, value in row.items()},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(encoded.encode()).hexdigest()


def table_columns(db: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in db.execute(f'PRAGMA table_info("{table}")')]


def content_type_columns(db: sqlite3.Connection, table: str) -> set[str]:
    """The columns of `table` that point at a content type (a generic link such as a
    certificate's card): compared by the model they name, not by the content type's id."""
    return {
        row[3]
        for row in db.execute(f'PRAGMA foreign_key_list("{table}")')
        if row[2] == "django_content_type"
    }


def content_type_names(db: sqlite3.Connection) -> dict[int, str]:
    return {
        pk: f"{app_label}.{model}"
        for pk, app_label, model in db.execute(
            'SELECT "id", "app_label", "model" FROM "django_content_type"'
        )
    }


def table_rows(
    db: sqlite3.Connection,
    table: str,
    columns: list[str],
    *,
    old_names: dict[str, str] | None = None,
) -> dict[str, dict[str, object]]:
    """Every row of `table`, only `columns`, by primary key (as text, for JSON). A content type
    is given as "app_label.model", then through `old_names` (a moved model's new name -> its name
    before the move) so that a link to a moved model reads as it did."""
    old_names = old_names or {}
    linked = content_type_columns(db, table) & set(columns)
    names = content_type_names(db) if linked else {}
    selected = ", ".join(f'"{name}"' for name in columns)
    cursor = db.execute(f'SELECT "id", {selected} FROM "{table}" ORDER BY "id"')
    rows = {}
    for pk, *values in cursor.fetchall():
        row = dict(zip(columns, values, strict=True))
        for column in linked:
            if row[column] is not None:
                name = names.get(row[column], f"missing content type {row[column]}")
                row[column] = old_names.get(name, name)
        rows[str(pk)] = row
    return rows


def table_snapshot(
    db: sqlite3.Connection,
    table: str,
    columns: list[str],
    *,
    old_names: dict[str, str] | None = None,
) -> dict:
    rows = table_rows(db, table, columns, old_names=old_names)
    return {
        "columns": columns,
        "count": len(rows),
        "rows": {pk: row_digest(row) for pk, row in rows.items()},
    }


def audit_head(db: sqlite3.Connection) -> dict:
    sequence, head_hash = db.execute(
        'SELECT "sequence", "hash" FROM "audit_auditchainhead" WHERE "id" = 1'
    ).fetchone()
    return {"sequence": sequence, "hash": head_hash}


def content_types(db: sqlite3.Connection) -> list[str]:
    """Every content type as "app_label.model"."""
    return sorted(
        f"{app_label}.{model}"
        for app_label, model in db.execute('SELECT "app_label", "model" FROM "django_content_type"')
    )


def permissions(db: sqlite3.Connection) -> dict[str, str]:
    """Every permission, "app_label.codename" -> its model's content type "app_label.model"."""
    cursor = db.execute(
        'SELECT ct."app_label", p."codename", ct."model" FROM "auth_permission" p '
        'JOIN "django_content_type" ct ON ct."id" = p."content_type_id"'
    )
    return {f"{app}.{codename}": f"{app}.{model}" for app, codename, model in cursor}


def group_permissions(db: sqlite3.Connection) -> dict[str, list[str]]:
    """Each group (role) -> the "app_label.codename" of the permissions it holds."""
    held: dict[str, list[str]] = {
        name: [] for (name,) in db.execute('SELECT "name" FROM "auth_group" ORDER BY "name"')
    }
    cursor = db.execute(
        'SELECT g."name", ct."app_label", p."codename" FROM "auth_group_permissions" gp '
        'JOIN "auth_group" g ON g."id" = gp."group_id" '
        'JOIN "auth_permission" p ON p."id" = gp."permission_id" '
        'JOIN "django_content_type" ct ON ct."id" = p."content_type_id"'
    )
    for name, app_label, codename in cursor:
        held[name].append(f"{app_label}.{codename}")
    return {name: sorted(perms) for name, perms in held.items()}


def connect(path: Path) -> sqlite3.Connection:
    """Read-only, so reading can never change what is compared."""
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)
