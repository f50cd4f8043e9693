"""Approving many card requests at once: each approval is the ordinary one (four eyes, audit
event, job on the station that takes approved requests), and the jobs form one batch."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from cards.models import CardRequest
from cards.services.card_requests import card_request_approve
from config.errors import DomainError, FieldError, NotAllowed, ValidationFailed
from personalization.models import JobBatch


class BatchRejected(ValidationFailed):
    """Some requests of a batch cannot be approved; nothing was approved. One error per
    request at fault, each naming it."""

    code = "batch_rejected"

    def __init__(self, errors: list[FieldError], *, total: int):
        self.summary = f"{len(errors)} of {total} requests cannot be approved; none was approved"
        super().__init__(errors, message=f"{self.summary}: {errors[0].message}")


@dataclass(frozen=True)
class BatchApproval:
    approved: list[CardRequest]
    batch: JobBatch | None  # None when no station takes approved requests (no job was queued)


@transaction.atomic
def card_requests_approve_batch(
    *,
    card_requests: Iterable[CardRequest],
    by,
    reason: str = "",
    name: str = "",
    identity_sha256s: Mapping[int, str] | None = None,
) -> BatchApproval:
    """Approve every request or none. Each goes through `card_request_approve`, so four eyes
    holds for each; every request that cannot be approved is named in the error.
    `identity_sha256s`: the snapshot hash the approver was shown for each request (by id), as
    the back office sends it; each approval then covers that snapshot only."""
    if not by.has_perm("cards.decide_cardrequest"):
        raise NotAllowed("you are not allowed to approve or reject card requests")
    requests = list(dict.fromkeys(card_requests))
    if not requests:
        raise ValidationFailed(
            [FieldError("card_requests", "choose at least one submitted request")]
        )
    batch = JobBatch.objects.create(
        name=name or f"{len(requests)} approvals ({timezone.localtime():%Y-%m-%d %H:%M})",
        created_by=by,
    )
    approved, errors = [], []
    for card_request in requests:
        try:
            # A savepoint each: a refused request leaves nothing behind while the others are
            # still checked, so the error names every request at fault.
            approved.append(
                card_request_approve(
                    card_request=card_request,
                    by=by,
                    reason=reason,
                    batch=batch,
                    identity_sha256=(
                        identity_sha256s.get(card_request.pk, "")
                        if identity_sha256s is not None
                        else None
                    ),
                )
            )
        except DomainError as error:
            errors.append(
                FieldError("card_requests", f"request #{card_request.pk}: {error.message}")
            )
    if errors:
        raise BatchRejected(errors, total=len(requests))
    if not batch.jobs.exists():
        batch.delete()
        batch = None
    return BatchApproval(approved=approved, batch=batch)
