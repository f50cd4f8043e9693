"""How an emulator handler ends a command with an error status word."""

from __future__ import annotations

from cardedge.apdu.status import StatusWord


class CardStatus(Exception):
    """Raised inside the emulator to answer a command with `sw` (and no data)."""

    def __init__(self, sw: int):
        super().__init__(f"{sw:04X}")
        self.sw = int(sw)


def fail(sw: StatusWord | int) -> CardStatus:
    return CardStatus(sw)


def wrong_reference_data(retries_left: int) -> CardStatus:
    """63Cx: verification failed, x tries left (SP 800-73-4 Part 2 §3.2.1); x tops out at 15."""
    return CardStatus(0x63C0 | min(retries_left, 0x0F))


class CardStateError(ValueError):
    """Stored card state that cannot be loaded (corrupt, or from an unknown format)."""


class CardStorageError(Exception):
    """The store could not persist the card's state (the card answers 6581, memory failure)."""
