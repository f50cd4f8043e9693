"""An auditor report from the console: built here with a progress bar, signed by the signer
(its worker, or this process where the signer's secrets are), written to --out."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from accounts.console import console_sign_in
from cardprofiles.models import CardProfile
from config.errors import DomainError
from issuance.models import Organisation
from personalization.models import EncoderStation
from reports.models import AuditReport
from reports.services import report_build, report_request, report_sign_send

SIGNING_TIMEOUT = 120.0


def _date(option: str):
    def parse(value: str) -> dt.date:
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            msg = f"{option}: {value!r} is not a date (YYYY-MM-DD)"
            raise CommandError(msg) from None

    return parse


class Command(BaseCommand):
    help = (
        "Write an auditor report for a period (both days included) as a signed PDF, and "
        "optionally its tables as CSV files in a zip (docs/reports.md)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="start", required=True, type=_date("--from"))
        parser.add_argument("--to", dest="end", required=True, type=_date("--to"))
        parser.add_argument("--out", required=True, type=Path, help="the PDF to write")
        parser.add_argument("--csv", type=Path, help="also write the tables here (a zip)")
        parser.add_argument("--organisation", type=int, help="an organisation's id")
        parser.add_argument("--profile", help="a card profile's name")
        parser.add_argument("--station", help="a station's name")
        parser.add_argument(
            "--as-user", help="who asks (audited; asks for their password); default: the console"
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: object, **options) -> None:
        by = console_sign_in(options["as_user"]) if options["as_user"] else None
        filters = self._filters(options)
        out: Path = options["out"]
        if not out.parent.is_dir():
            msg = f"--out: the directory {out.parent} does not exist"
            raise CommandError(msg)
        try:
            report = report_request(
                start=options["start"], end=options["end"], by=by, build=False, **filters
            )
        except DomainError as error:
            raise CommandError("; ".join(f"{e.field}: {e.message}" for e in error.errors)) from None
        with tqdm(
            total=100, unit="%", disable=options["no_progress"], file=self.stderr, leave=False
        ) as bar:

            def progress(percent: int, stage: str) -> None:
                bar.set_description(stage)
                bar.update(max(0, percent - bar.n))

            report_build(report.pk, progress=progress, sign=False)
            report_sign_send(report)
            report = self._wait_signed(report.pk)
            bar.update(100 - bar.n)
        if report.status != AuditReport.Status.READY:
            msg = f"report {report.pk}: {report.error or report.get_status_display()}"
            raise CommandError(msg)
        out.write_bytes(bytes(report.pdf))
        written = [str(out)]
        if options["csv"]:
            options["csv"].write_bytes(bytes(report.csv_zip))
            written.append(str(options["csv"]))
        self.stdout.write(
            self.style.SUCCESS(
                f"report {report.pk} ({report.start} to {report.end}) written to "
                f"{' and '.join(written)}; PDF SHA-256 {report.pdf_sha256}"
            )
        )

    def _filters(self, options: dict) -> dict:
        found = {"organisation": None, "profile": None, "station": None}
        for name, model, key in (
            ("organisation", Organisation, "pk"),
            ("profile", CardProfile, "name"),
            ("station", EncoderStation, "name"),
        ):
            value = options[name]
            if value is None:
                continue
            found[name] = model.objects.filter(**{key: value}).first()
            if found[name] is None:
                msg = f"--{name}: no {name} {value!r}"
                raise CommandError(msg)
        return found

    def _wait_signed(self, report_id: int) -> AuditReport:
        """The signer's worker signs it (in this process when tasks run eagerly)."""
        deadline = time.monotonic() + SIGNING_TIMEOUT
        while True:
            report = AuditReport.objects.get(pk=report_id)
            if report.is_finished:
                return report
            if time.monotonic() > deadline:
                msg = (
                    f"report {report_id} was not signed within {SIGNING_TIMEOUT:.0f} s: is the "
                    "signer's worker (manage.py run_signer) running?"
                )
                raise CommandError(msg)
            time.sleep(0.2)
