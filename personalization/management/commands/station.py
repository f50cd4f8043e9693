"""`manage.py station list | enable NAME | disable NAME | printer NAME … --as-user USER`: encoder
stations from a shell, for the administrator who takes one out of service (docs/operations.md),
e.g. from the maintenance script of the station's host, or sets up its card printer. `enable`,
`disable` and `printer` go through `station_update`: the same checks and the same
STATION_UPDATED audit event as the stations page, made as USER.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from accounts.console import console_sign_in
from config.errors import DomainError
from personalization.models import (
    EncoderStation,
    PersonalizationJob,
    PrintPlacement,
    PrintSides,
)
from personalization.selectors import station_current_job, station_list
from personalization.services.stations import station_update

COLUMNS = ("name", "transport", "reader", "status", "auto", "current job", "waiting", "last seen")


class Command(BaseCommand):
    help = (
        "List encoder stations, or enable or disable one as --as-user (who needs the permission "
        "to change stations; audited). A disabled station gets no new job; the job it is "
        "running finishes; enabling it sends its waiting jobs to its queue."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        actions.add_parser("list", help="every station, its state, current and waiting jobs")
        for action, text in (
            ("enable", "enable station NAME: its waiting jobs are sent to its queue"),
            ("disable", "disable station NAME: it gets no new job; its current job finishes"),
        ):
            sub = actions.add_parser(action, help=text)
            self._station_arguments(sub)
        printer = actions.add_parser(
            "printer", help="set station NAME's card printer (docs/personalization.md)"
        )
        self._station_arguments(printer)
        printer.add_argument(
            "--uri",
            help="ipp://host:631/ipp/print, ipps://…, or a CUPS queue name; '' for no printer",
        )
        printer.add_argument("--sides", choices=[s.value for s in PrintSides])
        printer.add_argument("--color", choices=["yes", "no"])
        printer.add_argument("--placement", choices=[p.value for p in PrintPlacement])

    @staticmethod
    def _station_arguments(sub: CommandParser) -> None:
        sub.add_argument("name", help="the station's name")
        sub.add_argument(
            "--as-user",
            required=True,
            metavar="USER",
            help="the administrator making the change (audited); asks for their password "
            "and authenticator code",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "list":
            self._list()
            return
        station = EncoderStation.objects.filter(name=options["name"]).first()
        if station is None:
            raise CommandError(f"no station named {options['name']!r}")
        user = console_sign_in(options["as_user"])  # asks for the password (and TOTP code)
        if options["action"] == "printer":
            self._printer(station, user, options)
            return
        enable, was = options["action"] == "enable", station.is_enabled
        try:
            station = station_update(station=station, by=user, is_enabled=enable)
        except DomainError as error:
            raise CommandError(error.message) from None
        if was == enable:
            self.stdout.write(f"Station {station.name} is already {options['action']}d.")
            return
        self.stdout.write(f"Station {station.name} {options['action']}d.")
        waiting = station.jobs.filter(status=PersonalizationJob.Status.WAITING).count()
        if enable:
            if waiting:
                self.stdout.write(f"{waiting} waiting job(s) sent to its queue, oldest first.")
            return
        current = station_current_job(station)
        if current is not None:
            self.stdout.write(
                f"Job #{current.pk} is still running on it: wait until it ends before touching "
                "the reader or stopping the worker."
            )
        if waiting:
            self.stdout.write(f"{waiting} job(s) wait on it until it is enabled again.")

    def _printer(self, station: EncoderStation, user, options: dict[str, Any]) -> None:
        changes: dict[str, Any] = {}
        for option, field in (
            ("uri", "printer_uri"),
            ("sides", "printer_sides"),
            ("placement", "printer_placement"),
        ):
            if options[option] is not None:
                changes[field] = options[option]
        if options["color"] is not None:
            changes["printer_color"] = options["color"] == "yes"
        if not changes:
            raise CommandError("printer: give --uri, --sides, --color or --placement")
        try:
            station = station_update(station=station, by=user, **changes)
        except DomainError as error:
            raise CommandError(
                "; ".join(f"{e.field}: {e.message}" for e in error.errors) or error.message
            ) from None
        if not station.printer_uri:
            self.stdout.write(f"Station {station.name} has no printer.")
            return
        self.stdout.write(
            f"Station {station.name} prints on {station.printer_uri}: "
            f"{station.get_printer_sides_display().lower()}, "
            f"{'colour' if station.printer_color else 'monochrome'}, "
            f"{station.get_printer_placement_display().lower()}."
        )

    def _list(self) -> None:
        now = timezone.now()
        rows = [
            (
                station.name,
                station.transport,
                station.reader_pattern or "-",
                station.status,
                "yes" if station.takes_approved_requests else "no",
                f"#{current.pk}" if (current := station_current_job(station)) else "-",
                str(station.waiting_jobs),
                _ago(now, station.heartbeat_at),
            )
            for station in station_list()
        ]
        if not rows:
            self.stdout.write("No encoder station yet (run_station NAME --create makes one).")
            return
        widths = [max(len(row[i]) for row in (COLUMNS, *rows)) for i in range(len(COLUMNS))]
        for row in (COLUMNS, *rows):
            cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
            self.stdout.write("  ".join(cells).rstrip())


def _ago(now, moment) -> str:
    if moment is None:
        return "never"
    seconds = int((now - moment).total_seconds())
    if seconds < 120:
        return f"{seconds} s ago"
    if seconds < 7200:
        return f"{seconds // 60} min ago"
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")
