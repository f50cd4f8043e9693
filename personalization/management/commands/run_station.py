"""`manage.py run_station NAME [-- CELERY OPTIONS]`: the Celery worker of one encoder station.

A thin wrapper: it checks the station, then replaces itself with
`celery -A config worker -Q station.NAME --concurrency 1 --hostname station-NAME@%h`.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

from config.errors import DomainError
from personalization.models import EncoderStation
from personalization.services.stations import station_ensure
from personalization.station_host import station_host_check
from personalization.station_identity import station_identity_ensure

# What makes a station a station: its own queue, one card at a time, and a node name that is
# its own (job leases name the worker node). Not for the caller to change.
RESERVED_OPTIONS = ("-Q", "--queues", "-c", "--concurrency", "-n", "--hostname", "-A", "--app")


def _reserved(option: str) -> bool:
    return any(
        option == name or option.startswith(f"{name}=") or (len(name) == 2 and option[:2] == name)
        for name in RESERVED_OPTIONS
    )


class Command(BaseCommand):
    requires_system_checks = []  # the worker it becomes runs them
    help = (
        "Run the Celery worker of encoder station NAME: `celery -A config worker -Q "
        "station.NAME --concurrency 1 --hostname station-NAME@%h`, followed by any Celery worker "
        "options given after `--` (e.g. `-- --loglevel INFO`). The station must exist and be "
        "enabled, or be created with --create. Stop it with SIGTERM or Ctrl-C: a running job "
        "finishes first (a second Ctrl-C abandons it; it is resumed later)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="the station's name")
        parser.add_argument(
            "--create",
            action="store_true",
            help="create the station if it does not exist, with --transport and --reader",
        )
        parser.add_argument(
            "--transport",
            choices=EncoderStation.Transport.values,
            default=EncoderStation.Transport.EMULATED,
            help="with --create: emulated (cards made in the database) or pcsc (a reader)",
        )
        parser.add_argument(
            "--reader",
            default="",
            metavar="PATTERN",
            help="with --create --transport pcsc: the reader's name, or a regular expression",
        )
        parser.add_argument(
            "celery_options",
            nargs="*",
            metavar="-- CELERY_OPTION",
            help="options for `celery worker`, after `--`",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        name, celery_options = options["name"], options["celery_options"]
        reserved = [option for option in celery_options if _reserved(option)]
        if reserved:
            msg = (
                f"{', '.join(reserved)}: a station's worker has its own queue, concurrency 1 and "
                "node name; run `celery -A config worker` yourself for anything else"
            )
            raise CommandError(msg)
        try:
            station_host_check()
        except ImproperlyConfigured as refused:
            raise CommandError(str(refused)) from None
        station = self._station(
            name,
            create=options["create"],
            transport=options["transport"],
            reader=options["reader"],
        )
        if station.transport == EncoderStation.Transport.PCSC:
            self._check_reader(station)
        self._check_identity(station)
        argv = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-Q",
            station.queue,
            "--concurrency",
            "1",
            "--hostname",
            f"station-{station.name}@%h",
            *celery_options,
        ]
        self.stdout.write(
            f"Station {station.name} ({station.get_transport_display()}): worker on {station.queue}"
        )
        self.stdout.flush()
        self.stderr.flush()
        connections.close_all()
        # The worker runs this station's jobs and no other's (personalization/tasks.py).
        os.environ["CARDFORGE_STATIONS"] = station.name
        os.execv(sys.executable, argv)  # noqa: S606 - a fixed program, arguments as a list

    def _station(self, name: str, *, create: bool, transport: str, reader: str) -> EncoderStation:
        station = EncoderStation.objects.filter(name=name).first()
        if station is None and create:
            try:
                station = station_ensure(name=name, transport=transport, reader_pattern=reader)
            except DomainError as error:
                raise CommandError(f"--create: {error.message}") from None
            self.stdout.write(f"Created station {station.name}.")
        if station is None:
            known = ", ".join(EncoderStation.objects.values_list("name", flat=True)) or "none"
            msg = f"no station named {name!r} (stations: {known}); --create makes one"
            raise CommandError(msg)
        if not station.is_enabled:
            msg = f"station {name} is disabled; enable it in the back office first"
            raise CommandError(msg)
        return station

    def _check_identity(self, station: EncoderStation) -> None:
        """A station talks to the signer with its key and certificate (docs/signer.md): without
        them its jobs would stop at the signer's step. Say how to enrol it (on a shared
        development host it is enrolled here)."""
        try:
            station_identity_ensure(station)
        except DomainError as error:  # not enrolled, or no PKI to enrol it with yet
            raise CommandError(error.message) from None

    def _check_reader(self, station: EncoderStation) -> None:
        """Say at once when the reader is not there; the worker starts anyway (pcscd or the
        reader may come later, and each job looks again)."""
        from cardedge.transports import TransportError
        from cardedge.transports.pcsc import list_readers, matching_readers
        from personalization.runner.session import reader_selector

        try:
            readers = list_readers()
        except TransportError as error:
            self.stderr.write(f"Warning: {error.message}")
            return
        if not matching_readers(readers, reader_selector(station.reader_pattern)):
            available = ", ".join(repr(name) for name in readers) or "none"
            self.stderr.write(
                f"Warning: no reader matches {station.reader_pattern!r} yet (readers: {available})"
            )
