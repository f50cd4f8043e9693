"""What the PKI commands share: error mapping and the optional --by user."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from config.errors import DomainError


def command_error(exc: DomainError, options: dict[str, str] | None = None) -> CommandError:
    """A CommandError naming the command-line option at fault where the field maps to one."""
    options = options or {}
    errors = exc.errors
    if errors:
        lines = [
            f"{options.get(error.field, error.field) or 'error'}: {error.message}"
            for error in errors
        ]
        return CommandError("; ".join(lines))
    return CommandError(exc.message)


def user_by_name(username: str | None):
    if not username:
        return None
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        msg = f"--by: no active user {username!r}"
        raise CommandError(msg)
    return user
