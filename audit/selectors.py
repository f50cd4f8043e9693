from __future__ import annotations

from dataclasses import replace

from audit.chain import ChainReport, verify_events
from audit.checkpoints import store_verify
from audit.labels import labels_of_type
from audit.models import AuditChainHead, AuditCheckpoint, AuditEvent


def audit_chain_verify(*, chunk_size: int = 5000) -> ChainReport:
    """Verify the whole chain from the first event, streaming rows in sequence order, against
    the signed checkpoints of the store (audit/checkpoints.py); the first problem is reported."""
    head = AuditChainHead.objects.filter(pk=1).first()
    recorded = dict(AuditCheckpoint.objects.values_list("sequence", "file_sha256"))
    store = store_verify(recorded)
    events = AuditEvent.objects.order_by("sequence").only(
        "sequence",
        "created_at",
        "actor",
        "event",
        "object_type",
        "object_id",
        "payload",
        "prev_hash",
        "hash",
    )
    report = verify_events(
        events.iterator(chunk_size=chunk_size),
        head_sequence=head.sequence if head else None,
        head_hash=head.hash if head else None,
        anchors={anchor.sequence: anchor for anchor in store.anchors},
    )
    report = replace(report, checkpoints=store.anchors)
    if not report.intact:
        return report
    if store.problem:
        return replace(report, broken_at=store.problem_at, reason=store.problem)
    if head is None and report.checked:
        reason = (
            f"the chain head is missing while {report.checked} events are stored: events may "
            "have been deleted from the end"
        )
        return replace(report, broken_at=report.checked, reason=reason)
    return report


def audit_event_list(*, event: int | None = None, object_type: str = "", object_id: str = ""):
    events = AuditEvent.objects.select_related("actor_user").order_by("-sequence")
    if event is not None:
        events = events.filter(event=event)
    if object_type:
        # Under every label its model had (audit/labels.py).
        events = events.filter(object_type__in=labels_of_type(object_type))
    if object_id:
        events = events.filter(object_id=object_id)
    return events
