"""What a change to someone's access does, once it may take effect. Each function writes its
own audit event and runs inside the caller's transaction; callers check who may do it and
whether a second administrator must approve first (accounts/services/access.py, privileged.py).

No function here puts a password, a reset token or a TOTP secret in an event or a message.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_otp import devices_for_user

from accounts.models import PASSWORD_CHANGE_AUDITED
from accounts.services.tokens import api_tokens_revoke_all
from audit.events import EventType
from audit.services import audit_record

logger = logging.getLogger(__name__)


def user_roles(user) -> list[str]:
    return sorted(user.groups.values_list("name", flat=True))


def _who(user, change) -> dict:
    payload = {"username": user.get_username()}
    if change is not None:
        payload["privileged_change"] = change.pk
    return payload


def role_grant_apply(*, user, group, by, change=None, event=EventType.USER_ROLE_GRANTED) -> None:
    before = user_roles(user)
    user.groups.add(group)
    administers = group.permissions.filter(
        content_type__app_label="auth", codename="change_user"
    ).exists()
    if administers and not user.is_staff:  # the Django admin is where they manage users
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    audit_record(
        event=event,
        actor=by,
        obj=user,
        payload={
            **_who(user, change),
            "role": group.name,
            "before": before,
            "after": user_roles(user),
        },
    )


def role_withdraw_apply(*, user, group, by) -> None:
    before = user_roles(user)
    user.groups.remove(group)
    audit_record(
        event=EventType.USER_ROLE_WITHDRAWN,
        actor=by,
        obj=user,
        payload={
            **_who(user, None),
            "role": group.name,
            "before": before,
            "after": user_roles(user),
        },
    )


def password_set_apply(*, user, password: str | None, by) -> None:
    """An administrator sets a (non-privileged) user's password, or disables it (None)."""
    if password is None:
        user.set_unusable_password()
    else:
        user.set_password(password)
    setattr(user, PASSWORD_CHANGE_AUDITED, True)  # by the event below
    user.save(update_fields=["password"])
    audit_record(
        event=EventType.USER_PASSWORD_RESET,
        actor=by,
        obj=user,
        payload={
            **_who(user, None),
            "method": "set by administrator" if password is not None else "disabled",
        },
    )
    api_tokens_revoke_all(user=user, actor=by, cause="password reset")


def password_reset_by_link_apply(*, user, by, change=None) -> None:
    """Nobody but the user learns the new password: the old one stops working, every token is
    revoked, and a single-use link to set a new one goes to the user's own e-mail address."""
    user.set_unusable_password()
    user.save(update_fields=["password"])
    audit_record(
        event=EventType.USER_PASSWORD_RESET,
        actor=by,
        obj=user,
        payload={**_who(user, change), "method": "link by e-mail", "email": user.email},
    )
    api_tokens_revoke_all(user=user, actor=by, cause="password reset")
    user_id = user.pk
    transaction.on_commit(lambda: _send_set_password_link(user_id))


def _send_set_password_link(user_id: int) -> None:
    # Made after commit: the link's token is bound to the (now unusable) password hash, so it
    # works once, and not at all if the reset had rolled back.
    user = get_user_model().objects.get(pk=user_id)
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    path = reverse("password_reset_confirm", args=(uid, default_token_generator.make_token(user)))
    link = settings.CARDFORGE_BASE_URL.rstrip("/") + path
    hours = settings.PASSWORD_RESET_TIMEOUT // 3600
    try:
        send_mail(
            subject="CardForge: set your new password",
            message=(
                f"Hello {user.get_full_name() or user.get_username()},\n\n"
                "Your CardForge password was reset by two administrators. Your old password "
                "and API tokens no longer work. Choose a new password here (the link works "
                f"once, for {hours} hours):\n\n{link}\n\n"
                "If you did not expect this, tell your security officer.\n"
            ),
            from_email=None,
            recipient_list=[user.email],
        )
    except Exception:
        # The reset stands (the old password is gone); an administrator asks for another link.
        logger.exception("could not send the set-password link to user %s", user.pk)


def second_factor_reset_apply(*, user, by, change=None) -> None:
    devices = list(devices_for_user(user, confirmed=None))
    for device in devices:
        device.delete()
    audit_record(
        event=EventType.USER_SECOND_FACTOR_RESET,
        actor=by,
        obj=user,
        payload={**_who(user, change), "devices_removed": len(devices)},
    )


def api_tokens_revoke_apply(*, user, by, change=None) -> None:
    cause = "administrator" if change is None else f"privileged change #{change.pk}"
    api_tokens_revoke_all(user=user, actor=by, cause=cause, audit_none=True)
