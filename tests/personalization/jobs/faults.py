"""Faults injected between the runner and an emulated card, for in-process failure tests.

`FaultyTransport` lets the card process an APDU and then raises instead of answering, as when a
worker dies or a card is pulled out right after the card acted, or answers with one bit changed.
`SimulatedCrash` is a BaseException, so the runner's error handling does not see it: the job is
left as a killed worker leaves it (running, with its lease and journal).

By default the faulty card saves every change at once, as a physical card keeps what it did
before a crash: the runner then resumes on a card ahead of its journal by part of a step. With
`steps=True` it keeps the runner's `StepCardStore`, as an emulated station does: the card goes
back to its state at the last recorded step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cardedge.transports.emulated import EmulatedTransport
from personalization.emulated_cards import (
    DatabaseCardStore,
    StepCardStore,
    emulated_card_open,
)


class SimulatedCrash(BaseException):
    pass


@dataclass
class Fault:
    ins: int
    occurrence: int = 1  # the nth APDU with this INS (chained parts count once)
    exception: BaseException | type[BaseException] = SimulatedCrash
    # Instead of raising, flip one bit of the answer at this offset (the card "misremembers").
    corrupt_at: int | None = None
    # Only count commands whose data holds these bytes (e.g. a GET DATA of one object).
    data_contains: bytes = b""
    # Instead of raising, call this (something else happens meanwhile) and answer as usual.
    action: Callable[[], None] | None = None
    seen: int = 0
    fired: bool = False


class FaultyTransport(EmulatedTransport):
    def __init__(self, card, fault: Fault) -> None:
        super().__init__(card)
        self.fault = fault

    def transmit(self, apdu: bytes) -> bytes:
        response = super().transmit(apdu)
        fault = self.fault
        if fault.fired or apdu[0] & 0x10 or apdu[1] != fault.ins:
            return response
        if fault.data_contains not in apdu[5:]:
            return response
        fault.seen += 1
        if fault.seen != fault.occurrence:
            return response
        fault.fired = True
        if fault.action is not None:
            fault.action()
            return response
        if fault.corrupt_at is not None:
            at = fault.corrupt_at
            return response[:at] + bytes([response[at] ^ 0x01]) + response[at + 1 :]
        raise fault.exception if isinstance(fault.exception, BaseException) else fault.exception()


class EveryChangeStore(DatabaseCardStore):
    """Saves every change at once, as a physical card keeps what it did before a crash. A blank
    card the runner has not saved yet (it is saved with the identify step's record) loads from,
    and keeps its changes in, the runner's own store."""

    def __init__(self, emulated_card, runner_store: StepCardStore) -> None:
        super().__init__(emulated_card)
        self.runner_store = runner_store

    def load(self):
        return self.runner_store.load()

    def save(self, state) -> None:
        if self.emulated_card.pk is None:
            self.runner_store.save(state)
        else:
            super().save(state)


def install(monkeypatch, fault: Fault, *, steps: bool = False) -> Fault:
    """Make emulated stations hand the runner a FaultyTransport (see the module docstring)."""

    def station_transport(station, card, store=None):
        if not steps:
            store = EveryChangeStore(card.emulated_card, store)
        return FaultyTransport(emulated_card_open(card.emulated_card, store=store), fault)

    monkeypatch.setattr("personalization.runner.session.station_transport", station_transport)
    return fault
