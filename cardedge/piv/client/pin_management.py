"""VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER (SP 800-73-4 Part 2 §§3.2.1-3.2.3): the
PIN and the PUK. WrongPin carries the tries left; nothing here logs or keeps a PIN or a PUK."""

from __future__ import annotations

from dataclasses import dataclass

from cardedge.apdu.status import StatusWord, retries_left
from cardedge.piv.client.session import PivSession
from cardedge.piv.constants import Ins, PinRef
from cardedge.piv.errors import error_for_status
from cardedge.piv.secrets import Pin, Puk

_VERIFY_LOGOUT = 0xFF


@dataclass(frozen=True)
class PinStatus:
    verified: bool
    retries_left: int | None  # None when verified: the card does not say
    blocked: bool


class PinCommands(PivSession):
    def verify_pin(self, pin: Pin) -> None:
        """VERIFY; WrongPin (with `retries_left`) or AuthenticationBlocked on failure."""
        self._send("VERIFY", Ins.VERIFY, 0x00, PinRef.PIV_PIN, pin.padded)

    def pin_status(self) -> PinStatus:
        """VERIFY without data: verified this session, or the tries left, or blocked."""
        response = self.channel.send(Ins.VERIFY, 0x00, PinRef.PIV_PIN)
        if response.sw == StatusWord.SUCCESS:
            return PinStatus(verified=True, retries_left=None, blocked=False)
        if response.sw == StatusWord.AUTHENTICATION_METHOD_BLOCKED:
            return PinStatus(verified=False, retries_left=0, blocked=True)
        if (tries := retries_left(response.sw)) is not None:
            return PinStatus(verified=False, retries_left=tries, blocked=tries == 0)
        raise error_for_status("VERIFY", response.sw)

    def logout(self) -> None:
        """VERIFY with P1 FF: the PIN is no longer verified (SP 800-73-4 Part 2 §3.2.1)."""
        self._send("VERIFY", Ins.VERIFY, _VERIFY_LOGOUT, PinRef.PIV_PIN)

    def change_pin(self, old: Pin, new: Pin) -> None:
        self._send(
            "CHANGE REFERENCE DATA",
            Ins.CHANGE_REFERENCE_DATA,
            0x00,
            PinRef.PIV_PIN,
            old.padded + new.padded,
        )

    def change_puk(self, old: Puk, new: Puk) -> None:
        self._send(
            "CHANGE REFERENCE DATA",
            Ins.CHANGE_REFERENCE_DATA,
            0x00,
            PinRef.PUK,
            old.padded + new.padded,
        )

    def unblock_pin(self, puk: Puk, new_pin: Pin) -> None:
        """RESET RETRY COUNTER: sets a new PIN with the PUK, unblocking it."""
        self._send(
            "RESET RETRY COUNTER",
            Ins.RESET_RETRY_COUNTER,
            0x00,
            PinRef.PIV_PIN,
            puk.padded + new_pin.padded,
        )
