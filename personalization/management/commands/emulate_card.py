"""`manage.py emulate_card --vpcd HOST:PORT [--state FILE]`: an emulated PIV card in pcscd's
virtual reader, until SIGTERM or Ctrl-C. The bridge and the card are plain Python
(personalization.vpcd, personalization.emulator); this command only wires them up."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from personalization.emulator import (
    CardStateError,
    CardStorageError,
    FactorySettings,
    FileCardStore,
    PivCardEmulator,
)
from personalization.vpcd import VpcdBridge, parse_address


class Command(BaseCommand):
    requires_system_checks = []  # a card daemon: it uses no model, URL or template
    help = (
        "Insert an emulated PIV card into pcscd's vpcd virtual reader and serve it until stopped "
        "(SIGTERM or Ctrl-C). Reconnects when pcscd restarts."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--vpcd",
            required=True,
            metavar="HOST:PORT",
            help="where vpcd listens: 127.0.0.1:35963 is reader 'Virtual PCD 00 00', "
            "127.0.0.1:35964 'Virtual PCD 00 01' (see /etc/reader.conf.d/vpcd)",
        )
        parser.add_argument(
            "--state",
            metavar="FILE",
            type=Path,
            help="JSON file with the card's persistent state (keys, objects, PIN/PUK); a blank "
            "card is created there if it does not exist. Written with mode 0600: it holds the "
            "card's secrets. Without --state the card lives in memory and is blank at every start.",
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
        store = FileCardStore(state_path) if state_path else None
        try:
            factory = FactorySettings(serial=options["serial"])
            card = PivCardEmulator(
                store, factory=factory, yubico_extensions=not options["plain_piv"]
            )
        except (CardStateError, CardStorageError, ValueError) as exc:
            raise CommandError(str(exc)) from None
        bridge = VpcdBridge(card, host, port)
        previous = {
            signum: signal.signal(signum, lambda _signum, _frame: bridge.stop())
            for signum in (signal.SIGTERM, signal.SIGINT)
        }
        where = f"state in {state_path}" if state_path else "state in memory only"
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
