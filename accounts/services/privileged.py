"""Privileged account changes under dual control: one administrator asks, another decides.

A change that would let someone approve or administer — granting such a role, or resetting the
password, second factor or API tokens of someone who holds one — waits here until a second
administrator approves it. Nobody decides on a change they asked for or on a change to their own
account: this module refuses it with a clear message, and the table's CHECK constraint
`privileged_change_four_eyes` refuses it whatever the code does.
"""

from __future__ import annotations

from django.db import transaction

from accounts.models import PrivilegedChange
from accounts.privileges import role_is_privileged, user_is_privileged
from accounts.services import effects
from audit.events import EventType
from audit.services import audit_record
from config.errors import Conflict, FieldError, NotAllowed, ValidationFailed
from config.four_eyes import four_eyes_decide, four_eyes_lock

Kind = PrivilegedChange.Kind
MAX_REASON = 1000


def _reason(value: str, *, required: bool = False) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ValidationFailed([FieldError("reason", "say why")])
    if len(value) > MAX_REASON:
        raise ValidationFailed([FieldError("reason", f"at most {MAX_REASON} characters")])
    return value


def _payload(change: PrivilegedChange, **extra) -> dict:
    payload = {
        "kind": change.kind,
        "username": change.target.get_username(),
        "requested_by": change.requested_by.get_username(),
    }
    if change.role_id:
        payload["role"] = change.role.name
    if change.target_email:
        payload["email"] = change.target_email
    return {**payload, **{key: value for key, value in extra.items() if value}}


def _needs_email(kind: str, target, role) -> bool:
    # A reset link, or the fresh credentials a first privileged role starts with, go by e-mail.
    if kind == Kind.GRANT_ROLE:
        return role_is_privileged(role) and not user_is_privileged(target)
    return kind == Kind.RESET_PASSWORD


@transaction.atomic
def privileged_change_request(
    *, kind: str, target, role=None, reason: str = "", by
) -> PrivilegedChange:
    """Ask for a change that a second administrator must approve."""
    if not by.has_perm("auth.change_user"):
        raise NotAllowed("you are not allowed to change users' access")
    if kind not in Kind.values:
        raise ValidationFailed([FieldError("kind", f"must be one of {', '.join(Kind.values)}")])
    if (kind == Kind.GRANT_ROLE) != (role is not None):
        raise ValidationFailed([FieldError("role", "a role is given with grant_role, and only")])
    if kind == Kind.GRANT_ROLE and target.groups.filter(pk=role.pk).exists():
        raise Conflict(f"{target.get_username()} already holds the role {role.name}")
    if _needs_email(kind, target, role) and not target.email:
        raise ValidationFailed(
            [FieldError("user", f"{target.get_username()} has no e-mail address to send a link to")]
        )
    waiting = PrivilegedChange.objects.pending().filter(kind=kind, target=target, role=role).first()
    if waiting is not None:
        raise Conflict(f"the same change is already waiting for approval (#{waiting.pk})")
    change = PrivilegedChange.objects.create(
        kind=kind,
        target=target,
        role=role,
        target_email=target.email if _needs_email(kind, target, role) else "",
        reason=_reason(reason),
        requested_by=by,
    )
    audit_record(
        event=EventType.PRIVILEGED_CHANGE_REQUESTED,
        actor=by,
        obj=change,
        payload=_payload(change, reason=change.reason),
    )
    return change


def _lock_pending(change: PrivilegedChange) -> PrivilegedChange:
    locked = (
        PrivilegedChange.objects.select_for_update(no_key=True, of=("self",))
        .select_related("target", "role", "requested_by")
        .get(pk=change.pk)
    )
    if locked.status != PrivilegedChange.Status.PENDING:
        raise Conflict(f"this change is already {locked.get_status_display().lower()}")
    return locked


def _lock_for_decision(change: PrivilegedChange, by) -> PrivilegedChange:
    if not by.is_active:
        raise NotAllowed("you are not allowed to approve or reject privileged changes")
    return four_eyes_lock(
        PrivilegedChange.objects.select_related("target", "role", "requested_by"),
        change.pk,
        by=by,
        not_allowed="you are not allowed to approve or reject privileged changes",
    )


def _decide(change: PrivilegedChange, *, status: str, reason: str, by) -> None:
    four_eyes_decide(change, status=status, by=by, reason_field="decision_reason", reason=reason)


@transaction.atomic
def privileged_change_approve(
    *, change: PrivilegedChange, by, reason: str = ""
) -> PrivilegedChange:
    """Approve and apply the change, as the second administrator."""
    change = _lock_for_decision(change, by)
    target = change.target
    # A reset, or a grant making the user privileged for the first time, ends with a link.
    fresh_credentials = change.kind == Kind.RESET_PASSWORD or (
        change.kind == Kind.GRANT_ROLE
        and role_is_privileged(change.role)
        and not user_is_privileged(target)
    )
    if fresh_credentials and not change.target_email:
        raise Conflict(
            f"{target.get_username()}'s roles changed since the request: a set-password link "
            "is now needed; reject this change and ask again"
        )
    if change.target_email and target.email != change.target_email:
        raise Conflict(
            f"{target.get_username()}'s e-mail address changed since the request "
            f"(was {change.target_email}): reject this change and ask again"
        )
    _decide(change, status=PrivilegedChange.Status.APPROVED, reason=_reason(reason), by=by)
    audit_record(
        event=EventType.PRIVILEGED_CHANGE_APPROVED,
        actor=by,
        obj=change,
        payload=_payload(change, reason=change.decision_reason),
    )
    if change.kind == Kind.GRANT_ROLE:
        effects.role_grant_apply(user=target, group=change.role, by=by, change=change)
    elif change.kind == Kind.RESET_SECOND_FACTOR:
        effects.second_factor_reset_apply(user=target, by=by, change=change)
    elif change.kind == Kind.REVOKE_API_TOKENS:
        effects.api_tokens_revoke_apply(user=target, by=by, change=change)
    if fresh_credentials:
        # A reset, or a first privileged role: whoever knew the old password (an administrator
        # may have set it while the user held no privileged role) must not keep it.
        effects.password_reset_by_link_apply(user=target, by=by, change=change)
    return change


@transaction.atomic
def privileged_change_reject(*, change: PrivilegedChange, by, reason: str) -> PrivilegedChange:
    change = _lock_for_decision(change, by)
    _decide(
        change,
        status=PrivilegedChange.Status.REJECTED,
        reason=_reason(reason, required=True),
        by=by,
    )
    audit_record(
        event=EventType.PRIVILEGED_CHANGE_REJECTED,
        actor=by,
        obj=change,
        payload=_payload(change, reason=change.decision_reason),
    )
    return change


@transaction.atomic
def privileged_change_cancel(*, change: PrivilegedChange, by, reason: str = "") -> PrivilegedChange:
    """The administrator who asked withdraws the request."""
    change = _lock_pending(change)
    if change.requested_by_id != by.pk:
        raise NotAllowed("only the administrator who asked for this change can cancel it")
    change.status = PrivilegedChange.Status.CANCELLED
    change.decision_reason = _reason(reason)
    change.save(update_fields=["status", "decision_reason"])
    audit_record(
        event=EventType.PRIVILEGED_CHANGE_CANCELLED,
        actor=by,
        obj=change,
        payload=_payload(change, reason=change.decision_reason),
    )
    return change
