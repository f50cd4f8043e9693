"""The database's own guard on the audit trail, on PostgreSQL (docs/audit.md): triggers that
refuse to change or delete an event, or to delete the chain head, whoever asks (the tables'
owner included, until they disable the trigger, which the application's role cannot), and the
grants of the application's role (CARDFORGE_DATABASE_APP_ROLE): read and append, never change.

The only change the event trigger lets through is the one Django makes when a user account is
deleted: `actor_user_id` set to NULL (on_delete=SET_NULL). The username each event recorded is
part of its hash and stays.
"""

from __future__ import annotations

import re

EVENTS, HEAD, CHECKPOINTS = "audit_auditevent", "audit_auditchainhead", "audit_auditcheckpoint"
_ROLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

INSTALL = [
    f"""
    CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger AS $$
    BEGIN
        IF TG_OP = 'UPDATE' AND TG_TABLE_NAME = '{EVENTS}' THEN
            IF NEW.actor_user_id IS NULL
               AND (NEW.sequence, NEW.created_at, NEW.actor, NEW.event, NEW.object_type,
                    NEW.object_id, NEW.payload::text, NEW.prev_hash, NEW.hash)
                   IS NOT DISTINCT FROM
                   (OLD.sequence, OLD.created_at, OLD.actor, OLD.event, OLD.object_type,
                    OLD.object_id, OLD.payload::text, OLD.prev_hash, OLD.hash) THEN
                RETURN NEW;  -- a deleted user's link cleared (on_delete=SET_NULL)
            END IF;
        END IF;
        RAISE EXCEPTION 'the audit trail is append-only: % on % refused', TG_OP, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END;
    $$ LANGUAGE plpgsql
    """,
    f"""
    CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON {EVENTS}
        FOR EACH ROW EXECUTE FUNCTION audit_refuse_change()
    """,
    f"""
    CREATE TRIGGER audit_checkpoint_append_only BEFORE UPDATE OR DELETE ON {CHECKPOINTS}
        FOR EACH ROW EXECUTE FUNCTION audit_refuse_change()
    """,
    f"""
    CREATE TRIGGER audit_head_kept BEFORE DELETE ON {HEAD}
        FOR EACH ROW EXECUTE FUNCTION audit_refuse_change()
    """,
]

UNINSTALL = [
    f"DROP TRIGGER IF EXISTS audit_head_kept ON {HEAD}",
    f"DROP TRIGGER IF EXISTS audit_checkpoint_append_only ON {CHECKPOINTS}",
    f"DROP TRIGGER IF EXISTS audit_event_append_only ON {EVENTS}",
    "DROP FUNCTION IF EXISTS audit_refuse_change()",
]


def audit_grants_sql(role: str) -> list[str]:
    """What the application's role may do on the audit tables: read and append events and
    checkpoints, move the head, clear a deleted user's link; no DELETE, TRUNCATE or other
    UPDATE. ValueError for a role name that is not a plain identifier."""
    if not _ROLE.match(role):
        msg = f"CARDFORGE_DATABASE_APP_ROLE {role!r} is not a plain lower-case identifier"
        raise ValueError(msg)
    sequences = [f"{table}_id_seq" for table in (EVENTS, HEAD, CHECKPOINTS)]
    return [
        f"REVOKE ALL ON {EVENTS}, {HEAD}, {CHECKPOINTS} FROM {role}",
        f"GRANT SELECT, INSERT ON {EVENTS}, {CHECKPOINTS} TO {role}",
        f"GRANT UPDATE (actor_user_id) ON {EVENTS} TO {role}",
        f"GRANT SELECT, INSERT, UPDATE ON {HEAD} TO {role}",
        f"GRANT USAGE, SELECT ON SEQUENCE {', '.join(sequences)} TO {role}",
    ]
