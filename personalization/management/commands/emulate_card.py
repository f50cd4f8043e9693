"""`manage.py emulate_card --vpcd HOST:PORT [--state FILE | --card SERIAL]`: an emulated PIV card in
pcscd's virtual reader, until SIGTERM or Ctrl-C. The bridge and the card are plain Python
(cardedge.vpcd, cardedge.emulator); this command only wires them up, to a state
file or to an emulated card stored in the database (personalization.emulated_cards)."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import IntegrityError, close_old_connections, connection

from cardedge.emulator import (
    CardStateError,
    CardStorageError,
    FactorySettings,
    FileCardStore,
    PivCardEmulator,
)
from cardedge.vpcd import VpcdBridge, parse_address
from cards.models import Card
from personalization.emulated_cards import (
    DatabaseCardStore,
    emulated_card_create,
    emulated_card_open,
)
from personalization.factory import emulator_attestation_root
from personalization.models import EmulatedCard


class _DaemonCardStore(DatabaseCardStore):
    """A card process lives for days: before each access, let Django replace a database
    connection that broke (a database restart) or outlived CONN_MAX_AGE."""

    def _fresh_connection(self) -> None:
        if not connection.in_atomic_block:
            close_old_connections()

    def load(self):
        self._fresh_connection()
        return super().load()

    def save(self, state):
        self._fresh_connection()
        super().save(state)


class Command(BaseCommand):
    requires_system_checks = []  # a card daemon: it starts fast, using no URL or template
    help = (
        "Insert an emulated PIV card into pcscd's vpcd virtual reader and serve it until stopped "
        "(SIGTERM or Ctrl-C): a card in memory, in a state file (--state) or stored in the "
        "database (--card, e.g. one an emulated station personalized). Reconnects when pcscd "
        "restarts."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--vpcd",
            required=True,
            metavar="HOST:PORT",
            help="where vpcd listens: 127.0.0.1:35963 is reader 'Virtual PCD 00 00', "
            "127.0.0.1:35964 'Virtual PCD 00 01' (see /etc/reader.conf.d/vpcd)",
        )
        where = parser.add_mutually_exclusive_group()
        where.add_argument(
            "--state",
            metavar="FILE",
            type=Path,
            help="JSON file with the card's persistent state (keys, objects, PIN/PUK); a blank "
            "card is created there if it does not exist. Written with mode 0600: it holds the "
            "card's secrets. Without --state or --card the card lives in memory and is blank at "
            "every start.",
        )
        where.add_argument(
            "--card",
            metavar="SERIAL",
            type=int,
            help="an emulated card stored in the database (its chip serial, as cards made by an "
            "emulated station have): its state is read from there and every change saved back, "
            "sealed under the KEK. One process per card, and not while a job personalizes it.",
        )
        parser.add_argument(
            "--create",
            action="store_true",
            help="with --card: store a new blank card with that serial if there is none",
        )
        parser.add_argument(
            "--serial",
            type=int,
            help="serial number of a new card (default: random); ignored for an existing --state",
        )
        parser.add_argument(
            "--plain-piv",
            action="store_true",
            help="behave like a non-Yubico PIV card: answer 6D00 to the Yubico extensions "
            "(GET VERSION, SET MANAGEMENT KEY, IMPORT KEY, ...)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            host, port = parse_address(options["vpcd"])
        except ValueError as exc:
            raise CommandError(f"--vpcd: {exc}") from None
        state_path: Path | None = options["state"]
        if options["card"] is not None:
            if options["serial"] is not None:
                raise CommandError("--serial: a stored card keeps its serial; use --card SERIAL")
            card = self._stored_card(
                options["card"], create=options["create"], plain_piv=options["plain_piv"]
            )
            where = f"stored in the database as emulated card {options['card']}"
        else:
            if options["create"]:
                raise CommandError("--create goes with --card")
            store = FileCardStore(state_path) if state_path else None
            try:
                factory = FactorySettings(
                    serial=options["serial"], attestation_root=emulator_attestation_root()
                )
                card = PivCardEmulator(
                    store, factory=factory, yubico_extensions=not options["plain_piv"]
                )
            except (CardStateError, CardStorageError, ValueError) as exc:
                raise CommandError(str(exc)) from None
            where = f"state in {state_path}" if state_path else "state in memory only"
        bridge = VpcdBridge(card, host, port)
        previous = {
            signum: signal.signal(signum, lambda _signum, _frame: bridge.stop())
            for signum in (signal.SIGTERM, signal.SIGINT)
        }
        self.stdout.write(
            f"Emulated PIV card, serial {card.serial} ({where}), in vpcd at {host}:{port}. "
            "Stop with Ctrl-C."
        )
        self.stdout.flush()
        try:
            bridge.serve_forever()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        self.stdout.write("Card removed, stopped.")

    def _stored_card(self, serial: int, *, create: bool, plain_piv: bool) -> PivCardEmulator:
        emulated = EmulatedCard.objects.filter(serial=serial).first()
        if emulated is None:
            if not create:
                raise CommandError(f"--card: no emulated card {serial} (--create stores a new one)")
            try:
                emulated = emulated_card_create(serial=serial)
            except IntegrityError:  # created meanwhile by someone else
                emulated = EmulatedCard.objects.get(serial=serial)
        busy = Card.objects.filter(emulated_card=emulated, status=Card.Status.PERSONALIZING).first()
        if busy is not None:
            msg = (
                f"--card: emulated card {serial} is card {busy.serial}, being personalized; its "
                "job must end first"
            )
            raise CommandError(msg)
        try:
            return emulated_card_open(
                emulated, yubico_extensions=not plain_piv, store=_DaemonCardStore(emulated)
            )
        except (CardStateError, CardStorageError) as exc:
            raise CommandError(f"--card: {exc}") from None
