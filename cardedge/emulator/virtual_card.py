"""What a card in a virtual reader offers: its ATR, power events and APDU processing."""

from __future__ import annotations

from typing import Protocol


class VirtualCard(Protocol):
    @property
    def atr(self) -> bytes: ...

    def power_on(self) -> None:
        """Cold reset: volatile state (PIN, admin, chains, pending responses) is dropped."""

    def power_off(self) -> None: ...

    def reset(self) -> None:
        """Warm reset: same effect as power-on for a PIV card."""

    def process(self, apdu: bytes) -> bytes:
        """One command APDU in, one response APDU (`data || SW1 SW2`) out. Never raises."""
        ...
