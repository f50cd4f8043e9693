"""What the PKI commands share: error mapping."""

from __future__ import annotations

from collections.abc import Mapping

from django.core.management.base import CommandError

from config.errors import DomainError


def command_error(exc: DomainError, options: Mapping[str, str] | None = None) -> CommandError:
    """A CommandError naming the command-line option at fault where the field maps to one."""
    options = options or {}
    errors = exc.errors
    if errors:
        lines = [f"{_option(options, error.field) or 'error'}: {error.message}" for error in errors]
        return CommandError("; ".join(lines))
    return CommandError(exc.message)


def _option(options: Mapping[str, str], field: str | None) -> str | None:
    """The command-line name of `field`: its option, or the field itself."""
    if field is None:
        return None
    return options.get(field, field)
