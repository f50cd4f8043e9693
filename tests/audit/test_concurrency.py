"""Concurrent writers on PostgreSQL queue on the chain head and never fork the chain."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from audit.events import EventType
from audit.models import AuditEvent
from audit.selectors import audit_chain_verify
from audit.services import audit_record

WRITERS = 8
EVENTS_PER_WRITER = 25


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_do_not_fork_the_chain():
    start = threading.Barrier(WRITERS)
    failures: list[BaseException] = []

    def writer(number: int) -> None:
        try:
            start.wait()
            for index in range(EVENTS_PER_WRITER):
                with transaction.atomic():
                    audit_record(
                        event=EventType.PROFESSIONAL_UPDATED,
                        object_type="issuance.professional",
                        object_id=f"{number}-{index}",
                    )
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert AuditEvent.objects.count() == WRITERS * EVENTS_PER_WRITER
    report = audit_chain_verify()
    assert report.intact, report.reason
    assert report.checked == WRITERS * EVENTS_PER_WRITER
    sequences = list(AuditEvent.objects.values_list("sequence", flat=True))
    assert sequences == list(range(1, WRITERS * EVENTS_PER_WRITER + 1))
