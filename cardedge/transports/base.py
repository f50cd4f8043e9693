"""The one interface every card transport offers.

A transport moves APDU bytes; it knows nothing of PIV. `connect()` finds the card and returns
its identity (reader name and ATR); `transmit()` sends one APDU and returns the response with
its status word; `transaction()` holds the card for a sequence of APDUs so that no other
application interleaves (a PC/SC transaction); `disconnect(reset=True)` resets the card on the
way out so that no PIN or management-key status stays behind for another application.
"""

from __future__ import annotations

import abc
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from cardedge.transports.errors import NotConnected


@dataclass(frozen=True)
class CardIdentity:
    reader: str
    atr: bytes

    def __str__(self) -> str:
        return f"{self.reader} (ATR {self.atr.hex(' ').upper()})"


class CardTransport(abc.ABC):
    """connect / transmit / transaction / disconnect, and the identity of the connected card."""

    _identity: CardIdentity | None = None

    @abc.abstractmethod
    def connect(self) -> CardIdentity:
        """Connect to the card; returns its identity."""

    @abc.abstractmethod
    def disconnect(self, *, reset: bool = True) -> None:
        """Let go of the card, resetting it (dropping PIN/admin status) unless `reset=False`."""

    @abc.abstractmethod
    def transmit(self, apdu: bytes) -> bytes:
        """Send one command APDU; returns `response data || SW1 SW2`."""

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Exclusive use of the card for the duration (no-op where nobody else can interleave)."""
        yield

    @property
    def is_connected(self) -> bool:
        return self._identity is not None

    @property
    def identity(self) -> CardIdentity:
        if self._identity is None:
            msg = "the transport is not connected to a card"
            raise NotConnected(msg)
        return self._identity

    def __enter__(self) -> Self:
        self.connect()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.is_connected:
            self.disconnect()
