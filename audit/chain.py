"""The hash chain: canonical encoding of an event and verification of a sequence of events.

Each event's hash is SHA-256 over a canonical JSON encoding (sorted keys, no whitespace, UTF-8)
of its sequence number, time, actor, event code, object, payload and the previous event's hash.
Editing any of those, deleting an event or reordering events breaks the chain at that point.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

GENESIS_HASH = "0" * 64

# A payload must never carry a secret. Keys that name one are refused outright, so a careless
# caller fails loudly in tests instead of writing a PIN into the permanent record.
_FORBIDDEN_KEYS = frozenset(
    {"pin", "puk", "password", "secret", "private_key", "management_key", "kek", "token", "key"}
)
_FORBIDDEN_SUFFIXES = ("_pin", "_puk", "_password", "_secret", "_private_key", "_token")


class PayloadError(ValueError):
    pass


def check_payload(value, path: str = "payload") -> None:
    """Payloads hold str, int, bool, None, lists and dicts with str keys; no floats, no secrets."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                msg = f"{path}: keys must be strings"
                raise PayloadError(msg)
            lowered = key.lower()
            if lowered in _FORBIDDEN_KEYS or lowered.endswith(_FORBIDDEN_SUFFIXES):
                msg = f"{path}.{key}: audit payloads must not carry secrets"
                raise PayloadError(msg)
            check_payload(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            check_payload(item, f"{path}[{index}]")
    elif not (value is None or isinstance(value, str | bool | int)):
        msg = f"{path}: {type(value).__name__} is not allowed (str, int, bool, None, list, dict)"
        raise PayloadError(msg)


@functools.lru_cache(maxsize=64)  # a bulk write stamps thousands of events with one time
def canonical_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(
    *,
    sequence: int,
    created_at: datetime,
    actor: str,
    event: int,
    object_type: str,
    object_id: str,
    payload: Mapping,
    prev_hash: str,
) -> str:
    document = {
        "sequence": sequence,
        "created_at": canonical_time(created_at),
        "actor": actor,
        "event": int(event),
        "object_type": object_type,
        "object_id": object_id,
        "payload": payload,
        "prev_hash": prev_hash,
    }
    encoded = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


class Anchored(Protocol):
    """What the walk needs of a verified checkpoint (audit/checkpoints.Anchor)."""

    head_hash: str
    time: datetime


@dataclass(frozen=True)
class ChainReport:
    checked: int
    broken_at: int | None = None
    reason: str = ""
    first_hash: str | None = None
    last_hash: str | None = None
    # The verified signed checkpoints (audit/checkpoints.Anchor), oldest first.
    checkpoints: tuple = ()

    @property
    def intact(self) -> bool:
        return self.broken_at is None


def verify_events(
    events: Iterable,
    *,
    head_sequence: int | None = None,
    head_hash: str | None = None,
    anchors: Mapping[int, Anchored] | None = None,
) -> ChainReport:
    """Walk events in sequence order; report the first one that does not fit the chain.

    `head_sequence` is the last sequence number the chain head recorded; events missing after the
    last stored one (a truncated tail) are reported as broken at the first missing number.
    `anchors` are the verified signed checkpoints (audit/checkpoints.py) by sequence number: the
    event each one names must hash to what it states, and the trail must reach the last one.
    A chain consistent with itself but not with a checkpoint was rewritten.
    """
    anchors = anchors or {}
    expected_sequence = 1
    prev_hash = GENESIS_HASH
    first_hash = None
    checked = 0
    for row in events:
        if row.sequence != expected_sequence:
            reason = (
                f"event {expected_sequence} is missing (found {row.sequence} next)"
                if row.sequence > expected_sequence
                else f"event {row.sequence} appears out of order"
            )
            return ChainReport(checked, expected_sequence, reason, first_hash, prev_hash)
        if row.prev_hash != prev_hash:
            reason = f"event {row.sequence} does not link to event {row.sequence - 1}"
            return ChainReport(checked, row.sequence, reason, first_hash, prev_hash)
        recomputed = event_hash(
            sequence=row.sequence,
            created_at=row.created_at,
            actor=row.actor,
            event=row.event,
            object_type=row.object_type,
            object_id=row.object_id,
            payload=row.payload,
            prev_hash=row.prev_hash,
        )
        if recomputed != row.hash:
            reason = f"event {row.sequence} was altered (its hash does not match its content)"
            return ChainReport(checked, row.sequence, reason, first_hash, prev_hash)
        anchor = anchors.get(row.sequence)
        if anchor is not None and anchor.head_hash != row.hash:
            reason = (
                f"event {row.sequence} does not match the signed checkpoint at event "
                f"{row.sequence} ({canonical_time(anchor.time)}): the trail up to it was rewritten"
            )
            return ChainReport(checked, row.sequence, reason, first_hash, prev_hash)
        first_hash = first_hash or row.hash
        prev_hash = row.hash
        checked += 1
        expected_sequence += 1
    beyond = [sequence for sequence in anchors if sequence >= expected_sequence]
    if beyond:
        last = max(beyond)
        reason = (
            f"the trail ends at event {checked} but the signed checkpoint at event {last} "
            f"({canonical_time(anchors[last].time)}) records {last} events: events were deleted"
        )
        return ChainReport(checked, expected_sequence, reason, first_hash, prev_hash)
    if head_sequence is not None and head_sequence >= expected_sequence:
        reason = (
            f"event {expected_sequence} is missing: the chain head records {head_sequence} events"
        )
        return ChainReport(checked, expected_sequence, reason, first_hash, prev_hash)
    if head_hash is not None and head_sequence == checked and head_hash != prev_hash:
        reason = f"event {checked} does not match the hash the chain head recorded for it"
        return ChainReport(checked, checked, reason, first_hash, prev_hash)
    return ChainReport(checked, None, "", first_hash, prev_hash if checked else None)
