"""`manage.py run_signer [--secrets FILE] [-- CELERY OPTIONS]`: the signer's Celery worker.

The one process that holds the KEK or the HSM PIN (docs/signer.md): it reads them from its own
secrets file, which no other process names, then replaces itself with
`celery -A config worker -Q signer --hostname signer@%h`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

RESERVED_OPTIONS = ("-Q", "--queues", "-n", "--hostname", "-A", "--app")


class Command(BaseCommand):
    requires_system_checks = []  # the worker it becomes runs them, with its secrets
    help = (
        "Run the signer's Celery worker on queue `signer`, with the KEK or HSM PIN read from "
        "--secrets (KEY=value lines: CARDFORGE_KEK or CARDFORGE_PKCS11_PIN, or their _FILE "
        "forms). Options after `--` go to `celery worker`."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--secrets",
            metavar="FILE",
            default=str(settings.BASE_DIR / "var" / "signer.env"),
            help="the signer's secrets file (default: var/signer.env)",
        )
        parser.add_argument("celery_options", nargs="*", metavar="-- CELERY_OPTION")

    def handle(self, *args: Any, **options: Any) -> None:
        secrets = Path(options["secrets"]).resolve()
        if not secrets.is_file():
            msg = f"--secrets: {secrets} is not a file (make run writes var/signer.env)"
            raise CommandError(msg)
        if settings.CARDFORGE_STATIONS:
            msg = "this process serves stations (CARDFORGE_STATIONS): the signer runs elsewhere"
            raise CommandError(msg)
        reserved = [
            option
            for option in options["celery_options"]
            if any(option == name or option.startswith(f"{name}=") for name in RESERVED_OPTIONS)
        ]
        if reserved:
            msg = f"{', '.join(reserved)}: the signer's worker has its own queue and node name"
            raise CommandError(msg)
        queue = settings.CARDFORGE_SIGNER_QUEUE
        self.stdout.write(f"Signer: worker on queue {queue}, secrets from {secrets}")
        self.stdout.flush()
        connections.close_all()
        os.environ["CARDFORGE_SIGNER_SECRETS_FILE"] = str(secrets)
        argv = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-Q",
            settings.CARDFORGE_SIGNER_QUEUE,
            "--hostname",
            "signer@%h",
            *options["celery_options"],
        ]
        os.execv(sys.executable, argv)  # noqa: S606 - a fixed program, arguments as a list
