"""Volatile card state: lost on power-off, reset and SELECT of the PIV application.

SP 800-73-4 Part 1 §3.4 (security status) and piv-brief §12: PIN verified, the "PIN just
verified" mark that a PIN-always key (9C) consumes, management key authenticated, the one-shot
challenge of GENERAL AUTHENTICATE, the command-chain buffer and the pending response.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from cardedge.piv.constants import ManagementKeyAlgorithm


class ChallengeKind(Enum):
    WITNESS = "witness"  # mutual authentication step 1 sent E(witness)
    CHALLENGE = "challenge"  # external authentication step 1 sent a challenge


@dataclass(frozen=True, repr=False)
class PendingChallenge:
    kind: ChallengeKind
    algorithm: ManagementKeyAlgorithm
    value: bytes

    def __repr__(self) -> str:
        return f"PendingChallenge({self.kind.value})"


@dataclass
class CommandChain:
    ins: int
    p1: int
    p2: int
    data: bytearray = field(default_factory=bytearray)


@dataclass
class Session:
    pin_verified: bool = False
    pin_just_verified: bool = False  # consumed by a PIN-always key (9C)
    admin_authenticated: bool = False
    challenge: PendingChallenge | None = None
    chain: CommandChain | None = None
    pending_response: bytes = b""

    def reset(self) -> None:
        """Power on / off / warm reset: everything volatile goes."""
        self.reset_security_status()
        self.chain = None
        self.pending_response = b""

    def reset_security_status(self) -> None:
        """SELECT of the PIV application resets the security status (SP 800-73-4 Part 2 §3.1.1)."""
        self.pin_verified = False
        self.pin_just_verified = False
        self.admin_authenticated = False
        self.challenge = None

    def forget_pin(self) -> None:
        self.pin_verified = False
        self.pin_just_verified = False
