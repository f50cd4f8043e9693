"""Attacks on the audit trail by someone with database access (THREATS.md: a database
administrator): edit and re-chain, delete and renumber, reorder, truncate with the chain head,
drop the head, delete a checkpoint file. The chain alone is unkeyed, so a re-chained trail is
self-consistent; the signed checkpoints exported outside the database catch each one, and
`verify_audit` names what is wrong."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.utils.dateparse import parse_datetime

from accounts.roles import Role
from audit.chain import event_hash
from audit.events import EventType
from audit.models import AuditEvent
from audit.selectors import audit_chain_verify
from audit.services import AuditChainHeadMissing, audit_record
from pki.services.audit_checkpoints import audit_checkpoint_write
from pki.services.cas import pki_bootstrap
from tests.audit.tampering import database_administrator

pytestmark = pytest.mark.django_db


@pytest.fixture
def pki(db):
    return pki_bootstrap(backend="software")


def _write(count: int) -> None:
    for index in range(count):
        with transaction.atomic():
            audit_record(
                event=EventType.PROFESSIONAL_CREATED,
                object_type="issuance.professional",
                object_id=str(index),
                payload={"rpps": f"{index:011d}"},
            )


def _last() -> int:
    return AuditEvent.objects.order_by("-sequence").values_list("sequence", flat=True).first()


def _verify_fails() -> str:
    """verify_audit's message; fails the test if the command says the trail is intact."""
    with pytest.raises(CommandError) as failed:
        call_command("verify_audit")
    assert failed.value.returncode == 1
    return str(failed.value)


def _rechain(cursor, *, from_sequence: int) -> None:
    """Recompute every hash from `from_sequence` on with the public recipe (audit/chain.py) and
    move the head to match, as an attacker hiding an edit would."""
    cursor.execute(
        "SELECT sequence, created_at, actor, event, object_type, object_id, payload, prev_hash "
        "FROM audit_auditevent ORDER BY sequence"
    )
    rows = cursor.fetchall()
    # prev_hash is unique: park the links to rewrite first so two rows never share one meanwhile.
    cursor.execute(
        "UPDATE audit_auditevent SET prev_hash = 'x' || sequence WHERE sequence >= %s",
        [from_sequence],
    )
    prev = None
    for sequence, stored_at, actor, event, object_type, object_id, stored, _link in rows:
        if sequence < from_sequence:
            continue
        # SQLite hands JSON and times back as text.
        payload = json.loads(stored) if isinstance(stored, str) else stored
        created_at = parse_datetime(stored_at) if isinstance(stored_at, str) else stored_at
        if created_at.tzinfo is None:
            created_at = created_at.replace(tzinfo=dt.UTC)
        if prev is None:
            cursor.execute("SELECT hash FROM audit_auditevent WHERE sequence = %s", [sequence - 1])
            found = cursor.fetchone()
            prev = found[0] if found else "0" * 64
        digest = event_hash(
            sequence=sequence,
            created_at=created_at,
            actor=actor,
            event=event,
            object_type=object_type,
            object_id=object_id,
            payload=payload,
            prev_hash=prev,
        )
        cursor.execute(
            "UPDATE audit_auditevent SET prev_hash = %s, hash = %s WHERE sequence = %s",
            [prev, digest, sequence],
        )
        prev = digest
    cursor.execute(
        "UPDATE audit_auditchainhead SET sequence = (SELECT MAX(sequence) FROM audit_auditevent),"
        " hash = %s",
        [prev],
    )


def test_an_intact_anchored_trail_verifies_with_its_checkpoints(pki, capsys):
    _write(5)
    first = audit_checkpoint_write(force=True)
    _write(3)
    second = audit_checkpoint_write(force=True)
    assert (first.sequence, second.sequence) == (first.sequence, _last())
    call_command("verify_audit")
    output = capsys.readouterr().out
    assert f"intact: {_last()} events" in output
    assert "2 signed checkpoints" in output


def test_an_event_edited_and_the_chain_recomputed_is_caught_by_the_checkpoint(pki):
    _write(10)
    checkpoint = audit_checkpoint_write(force=True)
    target = checkpoint.sequence - 5
    with database_administrator() as cursor:
        cursor.execute(
            "UPDATE audit_auditevent SET payload = %s WHERE sequence = %s",
            ['{"rpps": "99999999999"}', target],
        )
        _rechain(cursor, from_sequence=target)
    # The chain itself is consistent again: only the checkpoint can tell.
    message = _verify_fails()
    assert f"checkpoint at event {checkpoint.sequence}" in message
    assert "rewritten" in message


def test_an_event_deleted_and_the_rest_renumbered_is_caught(pki):
    _write(10)
    checkpoint = audit_checkpoint_write(force=True)
    victim = checkpoint.sequence - 4
    with database_administrator() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE sequence = %s", [victim])
        cursor.execute(
            "UPDATE audit_auditevent SET sequence = -(sequence - 1) WHERE sequence > %s", [victim]
        )
        cursor.execute("UPDATE audit_auditevent SET sequence = -sequence WHERE sequence < 0")
        _rechain(cursor, from_sequence=victim)
    message = _verify_fails()
    assert f"checkpoint at event {checkpoint.sequence}" in message


def test_events_reordered_and_rechained_are_caught(pki):
    _write(10)
    checkpoint = audit_checkpoint_write(force=True)
    a, b = checkpoint.sequence - 6, checkpoint.sequence - 5
    with database_administrator() as cursor:
        cursor.execute("UPDATE audit_auditevent SET sequence = -1 WHERE sequence = %s", [a])
        cursor.execute("UPDATE audit_auditevent SET sequence = %s WHERE sequence = %s", [a, b])
        cursor.execute("UPDATE audit_auditevent SET sequence = %s WHERE sequence = -1", [b])
        _rechain(cursor, from_sequence=a)
    message = _verify_fails()
    assert f"checkpoint at event {checkpoint.sequence}" in message


def test_a_tail_truncated_together_with_the_head_row_is_caught(pki):
    _write(10)
    checkpoint = audit_checkpoint_write(force=True)
    _write(4)
    kept = checkpoint.sequence - 3
    with database_administrator() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE sequence > %s", [kept])
        cursor.execute("DELETE FROM audit_auditchainhead")
    message = _verify_fails()
    assert f"the trail ends at event {kept}" in message
    assert f"checkpoint at event {checkpoint.sequence}" in message


def test_a_tail_truncated_with_the_head_moved_back_is_caught(pki):
    _write(10)
    checkpoint = audit_checkpoint_write(force=True)
    kept = checkpoint.sequence - 3
    with database_administrator() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE sequence > %s", [kept])
        _rechain(cursor, from_sequence=kept)
    message = _verify_fails()
    assert f"the trail ends at event {kept}" in message


def test_a_missing_head_is_reported_and_no_event_is_chained_without_it(pki):
    _write(3)
    with database_administrator() as cursor:
        cursor.execute("DELETE FROM audit_auditchainhead")
    assert "chain head is missing" in _verify_fails()
    # Rebuilding it from whatever is stored would hide a truncation: writers refuse instead.
    with pytest.raises(AuditChainHeadMissing), transaction.atomic():
        audit_record(event=EventType.USER_LOGGED_IN)
    assert "chain head is missing" in _verify_fails()


def test_a_deleted_checkpoint_file_is_caught(pki, settings):
    _write(4)
    first = audit_checkpoint_write(force=True)
    _write(4)
    second = audit_checkpoint_write(force=True)
    _write(4)
    audit_checkpoint_write(force=True)
    first.path.unlink()  # an earlier one: the next checkpoint names its digest
    message = _verify_fails()
    assert f"checkpoint at event {first.sequence}" in message
    assert "missing" in message
    assert second.path.exists()


def test_the_newest_checkpoint_file_deleted_is_caught(pki):
    _write(4)
    audit_checkpoint_write(force=True)
    _write(4)
    newest = audit_checkpoint_write(force=True)
    newest.path.unlink()
    message = _verify_fails()
    assert f"checkpoint at event {newest.sequence}" in message
    assert "missing" in message


def test_a_checkpoint_file_edited_in_the_store_is_caught(pki):
    _write(4)
    checkpoint = audit_checkpoint_write(force=True)
    text = checkpoint.path.read_text()
    checkpoint.path.chmod(0o644)
    checkpoint.path.write_text(text.replace(f"sequence: {checkpoint.sequence}", "sequence: 2"))
    message = _verify_fails()
    assert "signature" in message


def test_the_api_reports_the_checkpoint_failure_too(pki, api, users):
    _write(6)
    checkpoint = audit_checkpoint_write(force=True)
    with database_administrator() as cursor:
        cursor.execute(
            "UPDATE audit_auditevent SET actor = 'mallory' WHERE sequence = %s",
            [checkpoint.sequence - 2],
        )
        _rechain(cursor, from_sequence=checkpoint.sequence - 2)
    assert audit_chain_verify().intact is False
    answer = api.as_user(users[Role.AUDITOR]).get("/api/v1/audit-events/verify/")
    assert answer.status_code == 200
    assert answer.json()["intact"] is False
    assert f"checkpoint at event {checkpoint.sequence}" in answer.json()["reason"]


def test_the_verify_page_and_api_show_the_last_checkpoint(pki, api, client, users):
    from tests.factories import sign_in_verified

    _write(3)
    checkpoint = audit_checkpoint_write(force=True)
    _write(2)
    answer = api.as_user(users[Role.AUDITOR]).get("/api/v1/audit-events/verify/").json()
    assert answer["intact"] is True
    assert answer["checkpoints"] == 1
    assert answer["last_checkpoint"]["sequence"] == checkpoint.sequence
    assert answer["last_checkpoint"]["head_hash"] == checkpoint.head_hash
    sign_in_verified(client, users[Role.AUDITOR])
    page = client.get("/audit/verify/").content.decode()
    assert f"event {checkpoint.sequence}," in page
    assert checkpoint.head_hash in page
