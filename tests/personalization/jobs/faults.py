"""Faults injected between the runner and an emulated card, for in-process failure tests.

A `Fault` names a command (the nth APDU with an INS, optionally holding some bytes) and what
happens once the card has processed it: the answer never comes (`SimulatedCrash`, or another
exception such as a pulled card), it comes with one bit changed, or something else happens
meanwhile. `install` arms it as a cue of tests/personalization/jobs/cues.py, on the same cued
transport that worker-process tests use: one mechanism, a cue, whether the fault is armed in
this process or, through CARDFORGE_TEST_CUE (a step, or INS:<hex>:<n> as a Fault names it), in a
worker. `SimulatedCrash` is cues.py's: a
BaseException, so the runner's error handling does not see it and the job is left as a killed
worker leaves it (running, with its lease and journal).

By default the faulty card saves every change at once, as a physical card keeps what it did
before a crash: the runner then resumes on a card ahead of its journal by part of a step. With
`steps=True` it keeps the runner's `StepCardStore`, as an emulated station does: the card goes
back to its state at the last recorded step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from personalization.emulated_cards import (
    DatabaseCardStore,
    StepCardStore,
    emulated_card_open,
)
from tests.personalization.jobs import cues
from tests.personalization.jobs.cues import Cue, CuedEmulatedTransport, SimulatedCrash, nth_command

__all__ = ["EveryChangeStore", "Fault", "SimulatedCrash", "install"]


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
    cue: Cue | None = field(default=None, repr=False)

    @property
    def fired(self) -> bool:
        return self.cue is not None and self.cue.fired

    def as_cue(self) -> Cue:
        exception = self.exception
        return Cue(
            f"INS {self.ins:02X} #{self.occurrence}",
            action=self.action or "raise",
            matches=nth_command(self.ins, self.occurrence, self.data_contains),
            exception=exception if isinstance(exception, BaseException) else exception(),
            corrupt_at=self.corrupt_at,
        )


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
    """Arm `fault` as this process's cue and make emulated stations hand the runner a cued
    transport (see the module docstring); monkeypatch disarms it after the test."""

    def station_transport(station, card, store=None):
        if not steps:
            store = EveryChangeStore(card.emulated_card, store)
        return CuedEmulatedTransport(emulated_card_open(card.emulated_card, store=store))

    fault.cue = fault.as_cue()
    monkeypatch.setattr(cues, "_cue", fault.cue)
    monkeypatch.setattr("personalization.runner.session.station_transport", station_transport)
    return fault
