"""Sign-ins, sign-outs and lockouts go into the audit trail (never the password or code tried)."""

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db import transaction
from django.dispatch import receiver

from accounts.lockout import client_ip, user_locked_out_record
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


@receiver(user_locked_out)
def record_lockout(sender, request, username, ip_address, **kwargs):
    user_locked_out_record(
        username=str(username or ""),
        ip=ip_address,
        failures=getattr(request, "axes_failures_since_start", None),
    )
