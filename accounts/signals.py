"""Sign-ins, sign-outs and lockouts go into the audit trail (never the password or code tried);
a password change or a deactivation revokes the user's API tokens, whatever path made it."""

from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from accounts.lockout import client_ip, user_locked_out_record
from accounts.models import PASSWORD_CHANGE_AUDITED
from accounts.services.tokens import api_tokens_revoke_all
from audit.events import EventType
from audit.services import audit_record


def _client(request) -> dict:
    if request is None:
        return {}
    return {"ip": client_ip(request)}


@receiver(user_logged_in)
def record_login(sender, request, user, **kwargs):
    with transaction.atomic():
        audit_record(event=EventType.USER_LOGGED_IN, actor=user, obj=user, payload=_client(request))


@receiver(user_logged_out)
def record_logout(sender, request, user, **kwargs):
    if user is None:
        return
    with transaction.atomic():
        audit_record(
            event=EventType.USER_LOGGED_OUT, actor=user, obj=user, payload=_client(request)
        )


@receiver(user_login_failed)
def record_login_failure(sender, credentials, request=None, **kwargs):
    # `credentials` holds the password tried: only the username is kept.
    username = str(credentials.get("username", ""))[:150]
    step = {"step": "second factor"} if credentials.get("second_factor") else {}
    with transaction.atomic():
        audit_record(
            event=EventType.USER_LOGIN_FAILED,
            object_type="auth.user",
            payload={"username": username, **step, **_client(request)},
        )


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="accounts.revoke_tokens")
def revoke_tokens_on_password_change_or_deactivation(
    sender, instance, created, update_fields, **kwargs
):
    if created:
        return
    # AbstractBaseUser keeps the raw password in `_password` from set_password() until the save
    # that stores it completes, so this fires for every password change (admin, shell,
    # changepassword, reset link) and not for a hash upgrade at sign-in (which clears it first).
    password_changed = getattr(instance, "_password", None) is not None
    deactivated = not instance.is_active and (update_fields is None or "is_active" in update_fields)
    if not (password_changed or deactivated):
        return
    with transaction.atomic():
        if password_changed and not getattr(instance, PASSWORD_CHANGE_AUDITED, False):
            audit_record(
                event=EventType.USER_PASSWORD_RESET,
                obj=instance,
                payload={
                    "username": instance.get_username(),
                    "method": "outside the application (command or shell)",
                },
            )
        api_tokens_revoke_all(
            user=instance, cause="password changed" if password_changed else "user deactivated"
        )


@receiver(user_locked_out)
def record_lockout(sender, request, username, ip_address, **kwargs):
    user_locked_out_record(
        username=str(username or ""),
        ip=ip_address,
        failures=getattr(request, "axes_failures_since_start", None),
    )
