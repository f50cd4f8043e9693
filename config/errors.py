"""Domain errors raised by services and mapped to one error shape by every interface.

A service raises one of these with a message a user can act on and, where it applies, the field
(or CSV row and column) at fault. Views show it, the API maps it to an HTTP status
(config/api.py), commands print it. Messages never carry a secret.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    field: str | None
    message: str
    row: int | None = None

    def as_dict(self) -> dict:
        data: dict = {"field": self.field, "message": self.message}
        if self.row is not None:
            data["row"] = self.row
        return data


class DomainError(Exception):
    code = "invalid"
    status = 400

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code

    @property
    def errors(self) -> list[FieldError]:
        return [FieldError(self.field, self.message)] if self.field else []


class ValidationFailed(DomainError):
    """One or more fields are invalid; nothing was changed."""

    code = "validation_error"

    def __init__(self, errors: list[FieldError], message: str | None = None):
        self._errors = list(errors)
        if message is None:
            first = self._errors[0]
            message = f"{first.field}: {first.message}" if first.field else first.message
        super().__init__(message)

    @property
    def errors(self) -> list[FieldError]:
        return self._errors


class NotAllowed(DomainError):
    code = "permission_denied"
    status = 403


class FourEyesViolation(NotAllowed):
    """The same person may not both ask for and decide on a sensitive action."""

    code = "four_eyes"


class Conflict(DomainError):
    """The change does not fit the object's current state (e.g. deciding a decided request)."""

    code = "conflict"
    status = 409


class NotFound(DomainError):
    code = "not_found"
    status = 404
