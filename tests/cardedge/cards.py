"""Helpers shared by card tests: a factory-fresh card over any transport."""

from __future__ import annotations

import contextlib

from cardedge.piv import AuthenticationBlocked, Pin, PivClient, Puk, WrongPin

# Two different guesses: whatever the current PIN/PUK, at least one of them is wrong each round.
_PIN_GUESSES = (Pin("00000000"), Pin("11111111"))
_PUK_GUESSES = (Puk("00000000"), Puk("11111111"))


def factory_reset(client: PivClient) -> None:
    """Block PIN and PUK, then Yubico RESET: the card's own way back to factory state."""
    for attempt in range(520):
        if client.pin_status().blocked:
            break
        with contextlib.suppress(WrongPin, AuthenticationBlocked):
            client.verify_pin(_PIN_GUESSES[attempt % 2])
    for attempt in range(520):
        guess = _PUK_GUESSES[attempt % 2]
        try:
            client.change_puk(guess, guess)
        except WrongPin:
            continue
        except AuthenticationBlocked:
            break
    client.reset_card()
