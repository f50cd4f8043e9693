from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from accounts.console import console_sign_in
from config.errors import DomainError
from issuance.services.imports import import_size_error, professionals_import


class Command(BaseCommand):
    help = (
        "Enrol professionals from a CSV file (header row; columns rpps, last_name, first_name, "
        "profession, email required; specialty, phone, address_line1, address_line2, "
        "postal_code, city, country, organisation_finess optional; comma or semicolon; UTF-8). "
        "All-or-nothing unless --skip-invalid: any invalid row means nothing is written and "
        "the command exits 1 listing every bad row."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="the CSV file to import")
        parser.add_argument(
            "--dry-run", action="store_true", help="validate and report, write nothing"
        )
        parser.add_argument(
            "--skip-invalid",
            action="store_true",
            help="write the valid rows and report the invalid ones (exit 1 if any)",
        )
        parser.add_argument(
            "--as-user",
            default="",
            help="the enrolment officer recorded as the actor in the audit trail, who types "
            "their password (default: the system)",
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, file: Path, dry_run, skip_invalid, as_user, no_progress, **options):
        try:
            if too_large := import_size_error(file.stat().st_size):
                raise CommandError(f"{file}: {too_large}")
            content = file.read_bytes()
        except OSError as exc:
            msg = f"cannot read {file}: {exc.strerror}"
            raise CommandError(msg) from None
        # The system imports unless a user signs in (password asked) to be recorded as the actor.
        actor = console_sign_in(as_user) if as_user else None
        total = max(content.count(b"\n") - 1, 1)
        with tqdm(
            total=total, unit="row", disable=no_progress, file=self.stderr, leave=False
        ) as bar:
            try:
                report = professionals_import(
                    content=content,
                    by=actor,
                    file_name=file.name,
                    dry_run=dry_run,
                    skip_invalid=skip_invalid,
                    progress=bar.update,
                )
            except DomainError as error:
                raise CommandError(f"{file}: {error.message}") from None
        for error in report.errors:
            self.stderr.write(f"{file}: {error}")
        if report.errors and not skip_invalid and not dry_run:
            msg = f"{report.invalid} invalid row(s); nothing was imported. {report.summary()}"
            raise CommandError(msg, returncode=1)
        prefix = "dry run, nothing written: " if dry_run else ""
        self.stdout.write(self.style.SUCCESS(prefix + report.summary()))
        if report.errors:
            raise CommandError(f"{report.invalid} invalid row(s) were skipped", returncode=1)
