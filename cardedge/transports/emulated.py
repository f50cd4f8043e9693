"""The in-process transport: APDUs go straight to a `PivCardEmulator` (or any VirtualCard)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from cardedge.emulator.card import PivCardEmulator
from cardedge.emulator.virtual_card import VirtualCard
from cardedge.transports.base import CardIdentity, CardTransport
from cardedge.transports.errors import NotConnected

EMULATED_READER_NAME = "CardForge emulated reader"


class EmulatedTransport(CardTransport):
    """Connects to an in-process card, as if it sat in a reader of its own.

    A lock makes `transaction()` exclusive between threads sharing the card, as PC/SC does
    between applications.
    """

    def __init__(self, card: VirtualCard | None = None, *, reader: str = EMULATED_READER_NAME):
        self.card: VirtualCard = card if card is not None else PivCardEmulator()
        self.reader = reader
        self._lock = threading.RLock()
        self._card_powered = False

    def connect(self) -> CardIdentity:
        """Power the card on the first time (a cold reset); later connections find it as the
        last disconnect left it, as with PC/SC."""
        with self._lock:
            if not self._card_powered:
                self.card.power_on()
                self._card_powered = True
            self._identity = CardIdentity(reader=self.reader, atr=self.card.atr)
            return self._identity

    def disconnect(self, *, reset: bool = True) -> None:
        with self._lock:
            if reset and self._identity is not None:
                self.card.reset()
            self._identity = None

    def transmit(self, apdu: bytes) -> bytes:
        with self._lock:
            if self._identity is None:
                msg = "the emulated transport is not connected"
                raise NotConnected(msg)
            return self.card.process(apdu)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            yield
