"""Four eyes, written once: one person asks, another decides — never the one who asked, nor the
person a change is about, whatever their roles (shared/DESIGN.md, "Rules that hold everywhere").

Card requests, revocation requests and privileged account changes (and, next, suspensions and PIN
unblocks) each declare a `FourEyes` rule on their model and use:

- `four_eyes_constraints` for the database's side: a CHECK that the decider is none of those
  who may not decide, and one that a decided row names its decider and when;
- `four_eyes_lock` for the service's side, inside the decision's transaction: the permission to
  decide, the row locked, the asker (and the person concerned) refused with a clear message, a
  row already decided refused;
- `four_eyes_decide` to record the decision; the database's CHECK turns a bypass into the same
  `FourEyesViolation`.

The service still writes its own audit event and does its own work in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.db.models import F, Q
from django.utils import timezone

from config.errors import Conflict, FourEyesViolation, NotAllowed


@dataclass(frozen=True)
class FourEyes:
    """How a model keeps four eyes. Field names are the model's own."""

    noun: str  # "card request", "revocation request": in messages
    asked_by: str  # the field naming who asked: "submitted_by", "requested_by"
    decide_permission: str  # "cards.decide_cardrequest"
    pending: str = "pending"  # the status in which a decision can be made
    decided: tuple[str, ...] = ("approved", "rejected")  # statuses that carry a decision
    concerned: tuple[
        str, ...
    ] = ()  # fields naming others who may not decide (the user a change is about)
    own_message: str = "you asked for this, so another officer must decide it"
    concerned_message: str = "this is about your own account, so another officer must decide it"

    def may_not_decide(self, row: models.Model, user) -> str | None:
        """Why `user` may not decide `row` (None: they may)."""
        if getattr(row, f"{self.asked_by}_id") == user.pk:
            return self.own_message
        if any(getattr(row, f"{name}_id") == user.pk for name in self.concerned):
            return self.concerned_message
        return None


def four_eyes_constraints(
    rule: FourEyes, *, name: str, decided_name: str | None = None, message: str | None = None
) -> list[models.CheckConstraint]:
    """The database's side of `rule`: the decider is not the asker (nor anyone `concerned`),
    and (when `decided_name` is given) a decided row names its decider and the time."""
    not_the_asker = ~Q(decided_by=F(rule.asked_by))
    for other in rule.concerned:
        not_the_asker &= ~Q(decided_by=F(other))
    options = {"violation_error_message": message} if message else {}
    constraints = [
        models.CheckConstraint(
            condition=Q(decided_by__isnull=True) | not_the_asker, name=name, **options
        )
    ]
    if decided_name:
        constraints.append(
            models.CheckConstraint(
                condition=~Q(status__in=list(rule.decided))
                | Q(decided_by__isnull=False, decided_at__isnull=False),
                name=decided_name,
            )
        )
    return constraints


def four_eyes_lock(queryset: models.QuerySet, pk, *, by, not_allowed: str):
    """The row `pk` of `queryset`, locked for `by` to decide on (in the caller's transaction).
    Raises NotAllowed (no permission: `not_allowed`), FourEyesViolation (the asker or the person
    concerned) or Conflict (already decided)."""
    rule: FourEyes = queryset.model.four_eyes
    if not (getattr(by, "is_authenticated", False) and by.has_perm(rule.decide_permission)):
        raise NotAllowed(not_allowed)
    row = queryset.select_for_update(no_key=True, of=("self",)).get(pk=pk)
    refusal = rule.may_not_decide(row, by)
    if refusal:
        raise FourEyesViolation(refusal)
    if row.status != rule.pending:
        raise Conflict(
            f"this {rule.noun} is already {row.get_status_display().lower()}",
            code="already_decided",
        )
    return row


def four_eyes_decide(
    row: models.Model, *, status: str, by, reason_field: str, reason: str, extra: tuple = ()
):
    """Record `by`'s decision on a row locked by `four_eyes_lock`; `extra` names other fields
    the caller set on it. A decision the database refuses is a FourEyesViolation."""
    rule: FourEyes = type(row).four_eyes
    row.status = status
    row.decided_by = by
    row.decided_at = timezone.now()
    setattr(row, reason_field, reason)
    fields = ["status", "decided_by", "decided_at", reason_field, *extra]
    try:
        with transaction.atomic():
            row.save(update_fields=fields)
    except IntegrityError:
        # Only the four-eyes constraint can fail here; the service checked it already.
        raise FourEyesViolation(f"the asker of a {rule.noun} cannot decide on it") from None
    return row


class AskedRequest(models.Model):
    """The bookkeeping of a request one officer asks and another decides (a certificate's
    revocation, a card's suspension or revocation): who asked and when, the decision, who made
    it and when. A model adds what is asked, its FourEyes rule and its constraints."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        CANCELLED = "cancelled", "Cancelled"

    comment = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_comment = models.TextField(blank=True)

    class Meta:
        abstract = True

    def withdraw(self) -> None:
        """Pending -> cancelled, now: its asker withdrew it, or what it asked for was done
        another way. The caller checked who may, in its transaction, and audits it."""
        self.status = self.Status.CANCELLED
        self.decided_at = timezone.now()
        self.save(update_fields=["status", "decided_at"])
