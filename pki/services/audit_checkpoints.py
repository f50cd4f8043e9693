"""Writing the audit trail's signed checkpoints (audit/checkpoints.py, docs/audit.md) with the
platform's audit-signing key. Runs where that key can be used: the signer's worker (the task
`pki.tasks.audit_checkpoint`, every 30 seconds by beat) or `manage.py audit_checkpoint`."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.chain import GENESIS_HASH
from audit.checkpoints import Checkpoint, CheckpointError, store_latest, store_write
from audit.models import AuditCheckpoint
from audit.services import audit_checkpoint_recorded, audit_head
from pki.models import PlatformSigner
from pki.services.platform_signers import (
    platform_certificate_chain_pem,
    platform_sign,
    platform_signer_current,
)

logger = logging.getLogger(__name__)


def _due(head_sequence: int, previous: Checkpoint | None, now: dt.datetime) -> bool:
    """Every CARDFORGE_AUDIT_CHECKPOINT_EVENTS events, and at least every ..._MINUTES while
    events come."""
    last_sequence = previous.sequence if previous else 0
    waiting = head_sequence - last_sequence
    if waiting <= 0:
        return False
    if waiting >= settings.CARDFORGE_AUDIT_CHECKPOINT_EVENTS or previous is None:
        return True
    return now - previous.time >= dt.timedelta(minutes=settings.CARDFORGE_AUDIT_CHECKPOINT_MINUTES)


def audit_checkpoint_write(
    *, force: bool = False, now: dt.datetime | None = None
) -> AuditCheckpoint | None:
    """Anchor the trail's committed head in a signed checkpoint when one is due (`force`:
    whenever an event came since the last one); None when there is nothing to anchor.

    The store is the record: the previous checkpoint is its newest file. A store that holds a
    checkpoint beyond the trail's head means the trail lost events (restored from an older
    backup, or truncated): refused, with CheckpointError, for an administrator to look at.
    """
    now = now or timezone.now()
    head_sequence, head_hash = audit_head()
    latest = store_latest()
    previous = latest.checkpoint if latest else None
    if previous is not None and previous.sequence > head_sequence:
        msg = (
            f"the checkpoint store holds a checkpoint at event {previous.sequence} but the trail "
            f"ends at event {head_sequence}: run `manage.py verify_audit`"
        )
        raise CheckpointError(msg)
    due = head_sequence > (previous.sequence if previous else 0)
    if not (due if force else _due(head_sequence, previous, now)):
        return None
    signer = platform_signer_current(PlatformSigner.Purpose.AUDIT_CHECKPOINTS)
    checkpoint = Checkpoint(
        sequence=head_sequence,
        head_hash=head_hash,
        time=now,
        previous_sequence=previous.sequence if previous else 0,
        previous_sha256=latest.sha256 if latest else GENESIS_HASH,
        certificate_sha256=signer.certificate.fingerprint_sha256,
    )
    data = checkpoint.encode()
    path = store_write(
        checkpoint,
        signature=platform_sign(signer, data),
        certificate_chain_pem=platform_certificate_chain_pem(signer),
    )
    with transaction.atomic():
        row = audit_checkpoint_recorded(
            checkpoint=checkpoint, file_sha256=hashlib.sha256(data).hexdigest()
        )
    logger.info("audit checkpoint at event %s written to %s", checkpoint.sequence, path)
    return row
