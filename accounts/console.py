"""Signing in at the console: a management command that acts as a user (`--as-user NAME`)
asks for that user's password, and the code of their authenticator app where the web would,
so no command records an actor who did not prove who they are.

The same checks as the API's token endpoint (accounts/second_factor.py): wrong passwords and
codes count towards the lockout, and a verified second factor is audited (via "console").
The password and code are read with getpass (from the terminal, or standard input when there is
none, e.g. `printf '%s\\n' "$PASSWORD" | manage.py …`) and never echoed, logged or kept.
"""

from __future__ import annotations

import getpass

from django.core.management.base import CommandError
from django.http import HttpRequest

from accounts.second_factor import token_credentials_check
from config.errors import DomainError

CONSOLE_ADDRESS = "127.0.0.1"  # the lockout keys on the username; the address is for the trail


def _console_request() -> HttpRequest:
    request = HttpRequest()
    request.method = "POST"
    request.META.update(
        {"REMOTE_ADDR": CONSOLE_ADDRESS, "HTTP_USER_AGENT": "manage.py", "SERVER_NAME": "console"}
    )
    return request


def console_sign_in(username: str, *, option: str = "--as-user"):
    """The active user `username`, once they typed their password (and TOTP code if their
    roles need one). Raises CommandError naming `option` otherwise."""
    username = (username or "").strip()
    if not username:
        msg = f"{option}: a username is needed (who acts is audited)"
        raise CommandError(msg)
    password = getpass.getpass(f"Password for {username}: ")
    request = _console_request()
    try:
        return token_credentials_check(
            request=request, username=username, password=password, via="console"
        )
    except DomainError as error:
        if getattr(error, "code", "") != "otp_required":
            raise CommandError(f"{option}: {username}: {_sentence(error)}") from None
    code = getpass.getpass(f"Authenticator code for {username}: ")
    try:
        return token_credentials_check(
            request=_console_request(),
            username=username,
            password=password,
            otp=code,
            via="console",
        )
    except DomainError as error:
        raise CommandError(f"{option}: {username}: {_sentence(error)}") from None


def _sentence(error: DomainError) -> str:
    message = error.message
    return message.removeprefix("otp: ")
