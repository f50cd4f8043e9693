"""What a command handler works with: the card's state, its session, and its randomness."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cardedge.emulator.session import PendingChallenge, Session
from cardedge.emulator.state import CardState
from cardedge.piv.algorithms import PrivateKey
from cardedge.piv.constants import KeyAlgorithm

KeyGenerator = Callable[[KeyAlgorithm], PrivateKey]
RandomSource = Callable[[int], bytes]


@dataclass(frozen=True, slots=True, repr=False)
class Command:
    """A complete command after chaining: the data may exceed 255 bytes."""

    ins: int
    p1: int
    p2: int
    data: bytes
    le: int | None

    def __repr__(self) -> str:
        return f"Command({self.ins:02X} {self.p1:02X} {self.p2:02X}, lc={len(self.data)})"


@dataclass
class CommandContext:
    state: CardState
    session: Session
    # The GENERAL AUTHENTICATE challenge left by the previous command; any command takes it,
    # so it is good for exactly the next command (SP 800-73-4 Part 2 §3.2.4, one-shot).
    challenge: PendingChallenge | None
    generate_key: KeyGenerator
    random_bytes: RandomSource
    save_state: Callable[[], None]
    state_changed: bool = False

    def changed(self) -> None:
        """Mark persistent state as modified: the card saves it before it answers."""
        self.state_changed = True

    def save_now(self) -> None:
        """Save the state before going on (a failure ends the command with 65 81)."""
        self.save_state()
        self.state_changed = False
