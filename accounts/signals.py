"""Sign-ins and sign-outs go into the audit trail (never the password that was tried)."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db import transaction
from django.dispatch import receiver

from audit.events import EventType
from audit.services import audit_record


def _client(request) -> dict:
    if request is None:
        return {}
    return {"ip": request.META.get("REMOTE_ADDR", "")}


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
    with transaction.atomic():
        audit_record(
            event=EventType.USER_LOGIN_FAILED,
            object_type="auth.user",
            payload={"username": username, **_client(request)},
        )
