"""Changing someone's roles and credentials: at once, or through a second administrator.

The rule (docs/architecture.md, "Privileged changes"): granting a role that can approve or
administer (accounts/privileges.py), and resetting the password, second factor or API tokens of
a user who holds one, only creates a PrivilegedChange that a second administrator approves.
Everything else takes effect at once. Both are in the audit chain with who did it.
"""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.db import transaction

from accounts.models import PrivilegedChange
from accounts.privileges import role_is_privileged, user_is_privileged
from accounts.services import effects
from accounts.services.privileged import privileged_change_request
from audit.events import EventType
from config.errors import FieldError, NotAllowed, ValidationFailed

Kind = PrivilegedChange.Kind


def _check_may_administer(by) -> None:
    if not by.has_perm("auth.change_user"):
        raise NotAllowed("you are not allowed to change users' access")


def user_role_grant(*, user, role: Group, by, reason: str = "") -> PrivilegedChange | None:
    """Grant `role`; returns the pending change when a second administrator must approve."""
    _check_may_administer(by)
    if role_is_privileged(role):
        return privileged_change_request(
            kind=Kind.GRANT_ROLE, target=user, role=role, reason=reason, by=by
        )
    with transaction.atomic():
        effects.role_grant_apply(user=user, group=role, by=by)
    return None


@transaction.atomic
def user_role_withdraw(*, user, role: Group, by) -> None:
    """Taking a role away gives nobody anything: it takes effect at once."""
    _check_may_administer(by)
    effects.role_withdraw_apply(user=user, group=role, by=by)


def user_roles_set(*, user, roles, by) -> list[PrivilegedChange]:
    """Make `user`'s roles `roles` (the admin form): withdrawals and ordinary grants at once,
    privileged grants as pending changes, which are returned."""
    wanted = {group.pk: group for group in roles}
    held = {group.pk: group for group in user.groups.all()}
    pending = []
    for pk in sorted(set(held) - set(wanted)):
        user_role_withdraw(user=user, role=held[pk], by=by)
    waiting = {
        change.role_id: change
        for change in PrivilegedChange.objects.pending().filter(kind=Kind.GRANT_ROLE, target=user)
    }
    for pk in sorted(set(wanted) - set(held)):
        # Saving the form again while a grant waits shows that grant, not a second request.
        change = waiting.get(pk) or user_role_grant(user=user, role=wanted[pk], by=by)
        if change is not None:
            pending.append(change)
    return pending


def user_password_reset(
    *, user, by, password: str | None = None, disable: bool = False, reason: str = ""
) -> PrivilegedChange | None:
    """Reset `user`'s password.

    A privileged user's reset always waits for a second administrator and then goes by
    e-mail link: a typed `password` is ignored, so neither administrator learns the new one.
    For anyone else: `password` is set at once, `disable` makes it unusable, and with neither
    a set-password link is sent at once.
    """
    _check_may_administer(by)
    if user_is_privileged(user):
        return privileged_change_request(
            kind=Kind.RESET_PASSWORD, target=user, reason=reason, by=by
        )
    with transaction.atomic():
        if password is not None or disable:
            effects.password_set_apply(user=user, password=None if disable else password, by=by)
        else:
            if not user.email:
                msg = f"{user.get_username()} has no e-mail address to send a link to"
                raise ValidationFailed([FieldError("user", msg)])
            effects.password_reset_by_link_apply(user=user, by=by)
    return None


def user_second_factor_reset(*, user, by, reason: str = "") -> PrivilegedChange | None:
    _check_may_administer(by)
    if user_is_privileged(user):
        return privileged_change_request(
            kind=Kind.RESET_SECOND_FACTOR, target=user, reason=reason, by=by
        )
    with transaction.atomic():
        effects.second_factor_reset_apply(user=user, by=by)
    return None


def user_api_tokens_revoke(*, user, by, reason: str = "") -> PrivilegedChange | None:
    _check_may_administer(by)
    if user_is_privileged(user):
        return privileged_change_request(
            kind=Kind.REVOKE_API_TOKENS, target=user, reason=reason, by=by
        )
    with transaction.atomic():
        effects.api_tokens_revoke_apply(user=user, by=by)
    return None


def user_access_change(
    *, kind: str, user, role: Group | None = None, reason: str = "", by
) -> PrivilegedChange | None:
    """One entry point by kind (the API): returns the pending change, or None if applied."""
    if kind == Kind.GRANT_ROLE:
        if role is None:
            raise ValidationFailed([FieldError("role", "name the role to grant")])
        return user_role_grant(user=user, role=role, by=by, reason=reason)
    if role is not None:
        raise ValidationFailed([FieldError("role", "a role is given with grant_role only")])
    services = {
        Kind.RESET_PASSWORD: user_password_reset,
        Kind.RESET_SECOND_FACTOR: user_second_factor_reset,
        Kind.REVOKE_API_TOKENS: user_api_tokens_revoke,
    }
    if kind not in services:
        raise ValidationFailed([FieldError("kind", f"must be one of {', '.join(Kind.values)}")])
    return services[kind](user=user, by=by, reason=reason)


@transaction.atomic
def user_role_grant_bootstrap(*, user, role: Group) -> bool:
    """Setup commands only (bootstrap_demo): grant at once, audited as a bootstrap grant with
    no actor. Never reachable from the admin or the API. Returns whether anything changed."""
    if user.groups.filter(pk=role.pk).exists():
        return False
    effects.role_grant_apply(
        user=user, group=role, by=None, event=EventType.USER_ROLE_BOOTSTRAP_GRANTED
    )
    return True
