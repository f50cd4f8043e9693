"""Typed PIV errors. Each carries the status word the card answered (`sw`), if any.

A personalization job tells them apart by type: a `WrongPin` is the user's, a
`SecurityStatusNotSatisfied` is a missing VERIFY or management-key authentication, an
`UnsupportedCapability` is a card without Yubico extensions, a transport error (see
`cardedge.transports.errors`) is the reader's or the connection's.
"""

from __future__ import annotations

from cardedge.apdu.errors import CardError
from cardedge.apdu.status import StatusWord, describe, retries_left


class PivError(CardError):
    """Something the PIV card edge refused or got wrong."""

    def __init__(self, message: str, *, sw: int | None = None, command: str | None = None):
        super().__init__(message)
        self.message = message
        self.sw = sw
        self.command = command


class CardStatusError(PivError):
    """The card answered a command with an error status word."""

    default_sw: int | None = None

    def __init__(self, command: str, sw: int, detail: str | None = None):
        text = f"{command}: the card answered {describe(sw)}"
        if detail:
            text = f"{text} ({detail})"
        super().__init__(text, sw=sw, command=command)


class WrongLength(CardStatusError):
    default_sw = StatusWord.WRONG_LENGTH


class SecurityStatusNotSatisfied(CardStatusError):
    """6982: the PIN or the management key has not been presented for this operation."""

    default_sw = StatusWord.SECURITY_STATUS_NOT_SATISFIED


class AuthenticationBlocked(CardStatusError):
    """6983: the PIN (or PUK) is blocked after too many wrong tries."""

    default_sw = StatusWord.AUTHENTICATION_METHOD_BLOCKED


class ConditionsNotSatisfied(CardStatusError):
    default_sw = StatusWord.CONDITIONS_OF_USE_NOT_SATISFIED


class IncorrectData(CardStatusError):
    default_sw = StatusWord.INCORRECT_DATA


class FunctionNotSupported(CardStatusError):
    default_sw = StatusWord.FUNCTION_NOT_SUPPORTED


class DataObjectNotFound(CardStatusError):
    """6A82: no such data object (or application) on the card."""

    default_sw = StatusWord.NOT_FOUND


class NotEnoughMemory(CardStatusError):
    default_sw = StatusWord.NOT_ENOUGH_MEMORY


class IncorrectParameters(CardStatusError):
    default_sw = StatusWord.INCORRECT_P1_P2


class ReferencedDataNotFound(CardStatusError):
    """6A88: no key in that slot, or no such PIN reference."""

    default_sw = StatusWord.REFERENCED_DATA_NOT_FOUND


class InstructionNotSupported(CardStatusError):
    default_sw = StatusWord.INS_NOT_SUPPORTED


class ClassNotSupported(CardStatusError):
    default_sw = StatusWord.CLA_NOT_SUPPORTED


class WrongPin(CardStatusError):
    """63Cx: the PIN or PUK was wrong; `retries_left` tries remain."""

    def __init__(self, command: str, sw: int):
        self.retries_left = retries_left(sw) or 0
        super().__init__(command, sw)


class ManagementKeyAuthenticationFailed(PivError):
    """The card and the host did not prove the same 9B management key to each other."""


class UnsupportedCapability(PivError):
    """The card does not implement an optional command (e.g. Yubico SET MANAGEMENT KEY)."""


class MalformedCardResponse(PivError):
    """The card said `90 00` but its data is not what SP 800-73-4 defines for the command."""


_BY_SW: dict[int, type[CardStatusError]] = {
    cls.default_sw: cls
    for cls in (
        WrongLength,
        SecurityStatusNotSatisfied,
        AuthenticationBlocked,
        ConditionsNotSatisfied,
        IncorrectData,
        FunctionNotSupported,
        DataObjectNotFound,
        NotEnoughMemory,
        IncorrectParameters,
        ReferencedDataNotFound,
        InstructionNotSupported,
        ClassNotSupported,
    )
    if cls.default_sw is not None
}


def error_for_status(command: str, sw: int) -> CardStatusError:
    """The typed error for an error status word."""
    if retries_left(sw) is not None:
        return WrongPin(command, sw)
    cls = _BY_SW.get(sw, CardStatusError)
    return cls(command, sw)
