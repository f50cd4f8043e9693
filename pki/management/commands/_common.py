"""What the PKI commands share: error mapping."""

from __future__ import annotations

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
