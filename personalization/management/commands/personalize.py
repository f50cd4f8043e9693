"""`manage.py personalize REQUEST_ID --station NAME [--as-user USER] [--wait]`: queue an approved
request on a station and follow its job with a progress bar."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from accounts.console import console_sign_in
from cards.models import CardRequest
from config.errors import DomainError
from personalization.models import EncoderStation, JobStep, PersonalizationJob
from personalization.runner.plan import step_names
from personalization.services.jobs import job_queue

EXIT_FAILED = 1
EXIT_TIMEOUT = 2
POLL_SECONDS = 0.25
OFFLINE_HINT_AFTER_SECONDS = 5.0


class Command(BaseCommand):
    help = (
        "Queue approved card request REQUEST_ID on encoder station NAME and, with --wait, follow "
        "its job step by step. Queueing is done as --as-user, who needs the permission to queue "
        "personalization jobs (encoding operators, administrators) and is recorded in the audit "
        "trail. A request that already has a job on that station is followed, not queued again. "
        "Exit status with --wait: 0 personalized, 1 failed or cancelled, 2 timed out."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("request_id", type=int, help="the approved card request")
        parser.add_argument("--station", required=True, metavar="NAME", help="encoder station")
        parser.add_argument(
            "--as-user",
            default="",
            metavar="USERNAME",
            help="who queues the job (needed unless the request already has one); asks for "
            "their password",
        )
        parser.add_argument(
            "--wait", action="store_true", help="follow the job until it ends, with a progress bar"
        )
        parser.add_argument(
            "--timeout",
            type=float,
            default=600.0,
            metavar="SECONDS",
            help="with --wait: give up after this long (exit 2; the job goes on). Default 600",
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        card_request = CardRequest.objects.filter(pk=options["request_id"]).first()
        if card_request is None:
            raise CommandError(f"no card request #{options['request_id']}")
        station = EncoderStation.objects.filter(name=options["station"]).first()
        if station is None:
            raise CommandError(f"--station: no station named {options['station']!r}")
        job = self._job(card_request, station, options["as_user"])
        if not options["wait"]:
            return
        job = self._follow(job, timeout=options["timeout"], progress=not options["no_progress"])
        if job.status == PersonalizationJob.Status.DONE:
            self.stdout.write(
                self.style.SUCCESS(f"Card {job.card.serial} personalized (job #{job.pk}).")
            )
            return
        if job.status == PersonalizationJob.Status.FAILED:
            msg = (
                f"job #{job.pk} failed at {job.current_step or 'its start'}: "
                f"{job.error_code}: {job.error_message}"
            )
            raise CommandError(msg, returncode=EXIT_FAILED)
        if job.status == PersonalizationJob.Status.CANCELLED:
            raise CommandError(f"job #{job.pk} was cancelled", returncode=EXIT_FAILED)
        msg = (
            f"job #{job.pk} is still {job.get_status_display().lower()} after "
            f"{options['timeout']:g} s; it goes on without this command"
        )
        raise CommandError(msg, returncode=EXIT_TIMEOUT)

    def _job(self, card_request: CardRequest, station: EncoderStation, username: str):
        live = (
            PersonalizationJob.objects.filter(card_request=card_request)
            .filter(status__in=[*PersonalizationJob.Status.active_values(), "done"])
            .select_related("station")
            .first()
        )
        if live is not None:
            if live.station_id != station.pk:
                msg = (
                    f"request #{card_request.pk} already has job #{live.pk} on station "
                    f"{live.station.name}; follow it with --station {live.station.name}"
                )
                raise CommandError(msg)
            self.stdout.write(
                f"Request #{card_request.pk} already has job #{live.pk} on station "
                f"{station.name} ({live.get_status_display().lower()})."
            )
            return live
        if not username:
            raise CommandError("--as-user is needed to queue a job (who queues it is audited)")
        user = console_sign_in(username)  # asks for the password (and TOTP code)
        try:
            job = job_queue(card_request=card_request, station=station, by=user)
        except DomainError as error:
            raise CommandError(error.message) from None
        self.stdout.write(f"Queued job #{job.pk} for request #{card_request.pk} on {station.name}.")
        return job

    def _follow(self, job: PersonalizationJob, *, timeout: float, progress: bool):
        """Poll the job until it ends or `timeout` passes; the bar counts its recorded steps."""
        names = step_names(job)
        deadline = time.monotonic() + timeout
        hint_at = time.monotonic() + OFFLINE_HINT_AFTER_SECONDS
        with tqdm(
            total=len(names), unit="step", disable=not progress, file=self.stderr, leave=False
        ) as bar:
            while True:
                job.refresh_from_db()
                done = JobStep.objects.filter(job=job, attempt=job.attempt).count()
                bar.n = min(done, len(names))
                bar.set_description(job.current_step or job.get_status_display().lower())
                bar.refresh()
                if job.is_finished:
                    return job
                now = time.monotonic()
                if now >= deadline:
                    return job
                if hint_at is not None and now >= hint_at:
                    hint_at = None
                    self._hint_if_offline(job)
                time.sleep(min(POLL_SECONDS, max(deadline - now, 0)))

    def _hint_if_offline(self, job: PersonalizationJob) -> None:
        station = EncoderStation.objects.get(pk=job.station_id)
        if job.status == PersonalizationJob.Status.WAITING and not station.is_online():
            self.stderr.write(
                f"Station {station.name} has not been heard from: is its worker running? "
                f"(python manage.py run_station {station.name})"
            )
