"""Appending to the audit trail. Every state-changing service calls `audit_record` inside its
own transaction, so the change and its event commit or roll back together."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from audit.chain import GENESIS_HASH, check_payload, event_hash
from audit.events import EventType
from audit.models import AuditChainHead, AuditCheckpoint, AuditEvent
from config.bulk import insert_rows
from config.statements import insert_one, update_where, values_where


@dataclass(frozen=True)
class PendingEvent:
    event: EventType
    actor: object = None  # a user, or None for the system
    obj: object = None  # a model instance, or None
    payload: Mapping = field(default_factory=dict)
    object_type: str = ""
    object_id: str = ""


class AuditChainHeadMissing(RuntimeError):
    """Events are stored but the chain head row is gone: nothing is chained until an
    administrator has looked (docs/audit.md, "The chain head is missing")."""


def _lock_head() -> tuple[int, str]:
    """The chain head's (sequence, hash), its row locked until the transaction ends."""
    # In SQL (config/statements.py): every audited change runs this and the head's UPDATE.
    rows = values_where(AuditChainHead, ("sequence", "hash"), {"id": 1}, for_update=True)
    if rows:
        return rows[0][0], rows[0][1]
    # The head is made with the first event only: by whichever first writer inserts it (the
    # others' INSERT waits for that one's commit, then fails, and they lock its row). Rebuilding
    # it while events are stored would hide events deleted from the end together with the head:
    # refuse, verify_audit says why.
    try:
        with transaction.atomic():  # a savepoint: rolled back by either exception below
            AuditChainHead.objects.create(pk=1, sequence=0, hash=GENESIS_HASH)
            if AuditEvent.objects.exists():
                msg = (
                    "the audit chain head is missing while events are stored: no event is "
                    "recorded until an administrator has run `manage.py verify_audit` "
                    "(docs/audit.md)"
                )
                raise AuditChainHeadMissing(msg)
    except IntegrityError:
        pass  # another writer created it first: lock theirs
    rows = values_where(AuditChainHead, ("sequence", "hash"), {"id": 1}, for_update=True)
    return rows[0][0], rows[0][1]


def _describe(pending: PendingEvent) -> tuple[str, str, str, object]:
    actor = pending.actor
    user = actor if getattr(actor, "is_authenticated", False) else None
    actor_name = user.get_username() if user is not None else ""
    if pending.obj is not None:
        return actor_name, pending.obj._meta.label_lower, str(pending.obj.pk), user
    return actor_name, pending.object_type, pending.object_id, user


_COLUMNS = (
    "sequence",
    "created_at",
    "actor",
    "actor_user_id",
    "event",
    "object_type",
    "object_id",
    "payload",
    "prev_hash",
    "hash",
)


def _chained_rows(events: Sequence[PendingEvent]) -> list[tuple]:
    """Lock the chain head, link `events` after it, move the head; rows in _COLUMNS order."""
    if not connection.in_atomic_block:
        msg = "audit events must be written in the same transaction as the change they record"
        raise RuntimeError(msg)
    for pending in events:
        check_payload(pending.payload)
    sequence, prev_hash = _lock_head()
    now = timezone.now()
    rows = []
    for pending in events:
        actor_name, object_type, object_id, user = _describe(pending)
        sequence += 1
        payload = dict(pending.payload)
        digest = event_hash(
            sequence=sequence,
            created_at=now,
            actor=actor_name,
            event=pending.event,
            object_type=object_type,
            object_id=object_id,
            payload=payload,
            prev_hash=prev_hash,
        )
        user_id = user.pk if user is not None else None
        rows.append(
            (
                sequence,
                now,
                actor_name,
                user_id,
                int(pending.event),
                object_type,
                object_id,
                payload,
                prev_hash,
                digest,
            )
        )
        prev_hash = digest
    update_where(AuditChainHead, {"sequence": sequence, "hash": prev_hash}, {"id": 1})
    return rows


def audit_record_many(events: Sequence[PendingEvent]) -> int:
    """Append events, in order, to the chain. Must run inside the caller's transaction.

    For bulk changes (imports): rows go to the database in one executemany.
    """
    if not events:
        return 0
    return insert_rows(AuditEvent, _COLUMNS, _chained_rows(events))


def audit_record(
    *,
    event: EventType,
    actor=None,
    obj=None,
    payload: Mapping | None = None,
    object_type: str = "",
    object_id: str = "",
) -> None:
    """Append one event. `obj` names the object changed; `payload` must hold no secret.
    Written in SQL (config/statements.py): every audited change runs it."""
    pending = PendingEvent(
        event=event,
        actor=actor,
        obj=obj,
        payload=payload or {},
        object_type=object_type,
        object_id=str(object_id),
    )
    (row,) = _chained_rows([pending])
    insert_one(AuditEvent, dict(zip(_COLUMNS, row, strict=True)))


def audit_checkpoint_recorded(*, checkpoint, file_sha256: str) -> AuditCheckpoint:
    """List a checkpoint just written to the store (audit/checkpoints.py) in the database."""
    return AuditCheckpoint.objects.create(
        sequence=checkpoint.sequence,
        head_hash=checkpoint.head_hash,
        created_at=checkpoint.time,
        file_name=checkpoint.file_name,
        file_sha256=file_sha256,
        certificate_sha256=checkpoint.certificate_sha256,
    )


def audit_head() -> tuple[int, str]:
    """The chain's committed (sequence, hash): the head row moves in the transaction that
    appends, so the event it names is committed too. (0, genesis) before the first event."""
    rows = values_where(AuditChainHead, ("sequence", "hash"), {"id": 1})
    if rows:
        return rows[0][0], rows[0][1]
    if AuditEvent.objects.exists():
        msg = "the audit chain head is missing while events are stored (docs/audit.md)"
        raise AuditChainHeadMissing(msg)
    return 0, GENESIS_HASH
