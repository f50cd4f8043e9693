"""Sign-in lockout, through django-axes: who the client is, what a locked client sees, unlocking.

Axes counts failed sign-ins per username (config/settings.py says why username alone) from every
path that calls `authenticate(request, ...)`: the login form, the Django admin's login, the API's
token endpoint, and wrong second-factor codes (`second_factor_failed`). At
CARDFORGE_LOGIN_FAILURE_LIMIT failures the username is locked for CARDFORGE_LOGIN_COOLOFF_MINUTES
(or until an administrator unlocks it), even against the right password.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm
from django.db import transaction
from django.shortcuts import render

from audit.events import EventType
from audit.services import audit_record
from config.errors import DomainError


class AccountLocked(DomainError):
    """Too many failed sign-ins for this username (HTTP 429, like django-axes' own answer)."""

    code = "account_locked"
    status = 429


def _valid_ip(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return None


def client_ip(request) -> str:
    """The client's address: REMOTE_ADDR, unless CARDFORGE_TRUSTED_PROXY_COUNT proxies stand in
    front, in which case the entry of X-Forwarded-For that the outermost trusted proxy appended.

    Each proxy appends the address it received the request from, so with N trusted proxies the
    N-th entry from the right is the client as the outermost one saw it; every entry left of it
    was written by the client and is not believed. A header too short (the request did not pass
    through every proxy) or not an address gives REMOTE_ADDR, which nobody can forge.
    """
    peer = request.META.get("REMOTE_ADDR", "")
    count = settings.CARDFORGE_TRUSTED_PROXY_COUNT
    if count == 0:
        return peer
    hops = [hop for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    if len(hops) < count:
        return peer
    return _valid_ip(hops[-count]) or peer


def lock_message() -> str:
    minutes = settings.CARDFORGE_LOGIN_COOLOFF_MINUTES
    if minutes:
        when = f"Try again in {minutes} minute{'s' if minutes != 1 else ''}"
    else:
        when = "It stays locked"
    return (
        f"This account is locked after {settings.CARDFORGE_LOGIN_FAILURE_LIMIT} failed sign-ins. "
        f"{when}, or ask an administrator to unlock it."
    )


def lockout_response(request, original_response=None, credentials=None):
    """What django-axes' middleware answers when a sign-in was refused for a lock.

    The API's token endpoint has answered in the API's error shape already (AccountLocked);
    a page gets the login form again, empty but for the username, with the lock explained.
    """
    if request.path.startswith("/api/") and original_response is not None:
        return original_response
    username = str((credentials or {}).get("username") or request.POST.get("username", ""))
    form = AuthenticationForm(request, initial={"username": username[:150]})
    return render(
        request,
        "registration/login.html",
        {"form": form, "locked_message": lock_message()},
        status=AccountLocked.status,
    )


def user_locked_out_record(*, username: str, ip: str | None, failures: int | None) -> None:
    """Audit a lock as it starts (django-axes' user_locked_out signal). Axes sends the signal
    again for each attempt refused while locked: those are failed sign-ins, audited as such."""
    if failures is not None and failures > settings.CARDFORGE_LOGIN_FAILURE_LIMIT:
        return
    user = get_user_model().objects.filter(username=username).first()
    with transaction.atomic():
        audit_record(
            event=EventType.USER_LOCKED_OUT,
            obj=user,
            object_type="" if user else "auth.user",
            payload={
                "username": username[:150],
                "ip": ip or "",
                "failures": failures or settings.CARDFORGE_LOGIN_FAILURE_LIMIT,
            },
        )


def user_unlock(*, user, by) -> int:
    """Forget `user`'s failed sign-ins, lifting a lock; audited even when there was none to lift,
    since it says an administrator looked. Returns the number of attempt records cleared."""
    from axes.handlers.proxy import AxesProxyHandler

    with transaction.atomic():
        cleared = AxesProxyHandler.reset_attempts(username=user.get_username())
        audit_record(
            event=EventType.USER_UNLOCKED,
            actor=by,
            obj=user,
            payload={"username": user.get_username(), "attempt_records_cleared": cleared},
        )
    return cleared
