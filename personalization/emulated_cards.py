"""Emulated cards kept in the database: the emulator's CardStore backed by an EmulatedCard row,
its state sealed under the KEK (it holds the card's private keys, PIN and PUK).

Two stores:

* `DatabaseCardStore` saves every change before the card answers, as a physical card's EEPROM
  holds it: a card served to PC/SC clients (`emulate_card --card`) counts a wrong PIN even if
  its process dies right after. A save is one UPDATE statement, committed on its own in
  autocommit mode (under a savepoint inside a caller's transaction), written as SQL rather than
  as a queryset: compiling the queryset cost more than the write on SQLite, and on PostgreSQL an
  explicit BEGIN added a round trip (benchmarks/personalization.py).
* `StepCardStore`, the personalization runner's: the card's changes wait in memory until the
  runner records a step, and are written in that record's transaction, under its lease check.
  The card in the database and the job's journal then always move together: a worker killed in
  the middle of a step leaves the card as it was when the previous step was recorded, so the
  step runs again on the card it first ran on; and a worker that lost its lease to another
  cannot overwrite the card the other is now making.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from django.db import IntegrityError, connection, transaction

from cardedge.emulator.card import PivCardEmulator
from cardedge.emulator.errors import CardStorageError
from cardedge.emulator.state import CardState, FactorySettings
from cardedge.emulator.storage import CardStore
from config.sealing import SealError, seal, unseal
from config.statements import update_where
from personalization.factory import (
    emulator_attestation_root,
    factory_management_key,
    factory_pin,
    factory_puk,
)
from personalization.models import EmulatedCard

_PURPOSE = "emulated-card-state"


class DatabaseCardStore(CardStore):
    """Saves every change as it happens, as a real card's EEPROM would hold it."""

    def __init__(self, emulated_card: EmulatedCard) -> None:
        self.emulated_card = emulated_card
        self._owner = str(emulated_card.serial)

    def load(self) -> dict[str, Any] | None:
        row = EmulatedCard.objects.filter(pk=self.emulated_card.pk).values_list("state", flat=True)
        blob = row.first()
        if blob is None:
            return None
        try:
            return json.loads(unseal(blob, purpose=_PURPOSE, owner=self._owner))
        except (SealError, ValueError) as exc:
            raise CardStorageError(str(exc)) from None

    def save(self, state: dict[str, Any]) -> None:
        if connection.in_atomic_block:
            # Its own savepoint: a failed write leaves the caller's transaction usable.
            with transaction.atomic():
                self._write(state)
        else:
            # One statement in autocommit mode is its own transaction: durable when it returns.
            self._write(state)

    def _write(self, state: dict[str, Any]) -> None:
        self._write_sealed(self._seal(state))

    def _seal(self, state: dict[str, Any]) -> bytes:
        return seal(json.dumps(state).encode(), purpose=_PURPOSE, owner=self._owner)

    def _write_sealed(self, blob: bytes) -> None:
        # In SQL (config/statements.py): the card's state is written after most APDUs.
        updated = update_where(EmulatedCard, {"state": blob}, {"id": self.emulated_card.pk})
        if not updated:
            msg = f"emulated card {self._owner} no longer exists"
            raise CardStorageError(msg)


class StepCardStore(DatabaseCardStore):
    """Keeps the card's changes until `flush`, which the runner calls in the transaction that
    records a step (see the module docstring)."""

    def __init__(self, emulated_card: EmulatedCard, *, state: dict[str, Any] | None = None) -> None:
        """`state`: the card's state when the caller has it already (a blank card made by
        `emulated_card_blank`, saved later): loaded from it, not from the database."""
        super().__init__(emulated_card)
        self._pending: dict[str, Any] | None = None
        self._sealed: tuple[dict[str, Any], bytes] | None = None  # (state, its seal)
        self._known = state

    def load(self) -> dict[str, Any] | None:
        if self._known is not None:
            known, self._known = self._known, None
            return known
        return super().load()

    def save(self, state: dict[str, Any]) -> None:
        self._pending = state

    def seal_pending(self) -> None:
        """Seal the changes now, so that `flush` only writes them: the runner calls this before
        the transaction that records a step, which then holds the database (on SQLite, every
        writer) for the write alone."""
        state = self._pending
        if state is not None and (self._sealed is None or self._sealed[0] is not state):
            self._sealed = (state, self._seal(state))

    def flush(self) -> None:
        """Write the changes since the last flush, in the caller's transaction. They count as
        written only when it commits: rolled back, they are written by the next flush."""
        state = self._pending
        if state is None:
            return
        sealed = self._sealed
        self._write_sealed(
            sealed[1] if sealed is not None and sealed[0] is state else self._seal(state)
        )

        def written() -> None:
            if self._pending is state:
                self._pending = self._sealed = None

        transaction.on_commit(written)


def emulated_card_blank(*, serial: int | None = None) -> tuple[EmulatedCard, dict[str, Any]]:
    """A new blank card (factory state), not yet saved: its row, with chip serial `serial` (or a
    fresh random 8-digit one no card has) and its sealed state, and that state. The runner saves
    it in the transaction that records the card it becomes; `emulated_card_create` at once."""
    chosen = serial
    while chosen is None:
        candidate = 10_000_000 + secrets.randbelow(90_000_000)
        if not EmulatedCard.objects.filter(serial=candidate).exists():
            chosen = candidate
    # The factory state goes in with the row: no card ever exists without one.
    state = CardState.new(_factory_settings(chosen)).to_dict()
    blob = seal(json.dumps(state).encode(), purpose=_PURPOSE, owner=str(chosen))
    return EmulatedCard(serial=chosen, state=blob), state


def emulated_card_create(*, serial: int | None = None) -> EmulatedCard:
    """A new blank card (factory state) with chip serial `serial`, or a fresh random 8-digit
    one. IntegrityError if a card with that serial exists."""
    for _ in range(10):
        card, _state = emulated_card_blank(serial=serial)
        try:
            with transaction.atomic():
                card.save(force_insert=True)
                return card
        except IntegrityError:  # another process took the same serial meanwhile
            if serial is not None:
                raise
    msg = "could not allocate an emulated card serial"
    raise RuntimeError(msg)


def emulated_card_open(
    emulated_card: EmulatedCard,
    *,
    yubico_extensions: bool = True,
    store: DatabaseCardStore | None = None,
) -> PivCardEmulator:
    """The card itself, its state loaded from (and saved to) the database by `store` (default
    a DatabaseCardStore of `emulated_card`)."""
    return PivCardEmulator(
        store or DatabaseCardStore(emulated_card),
        factory=_factory_settings(emulated_card.serial),
        yubico_extensions=yubico_extensions,
    )


def _factory_settings(serial: int) -> FactorySettings:
    """A blank card as this platform's factory makes it (settings.CARDFORGE_FACTORY_*, and the
    emulator factory's attestation root)."""
    return FactorySettings(
        pin=factory_pin(),
        puk=factory_puk(),
        management_key=factory_management_key(),
        serial=serial,
        attestation_root=emulator_attestation_root(),
    )
