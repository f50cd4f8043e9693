"""`manage.py recover_key REQUEST_ID --out FILE.p12`: write an escrowed key, whose recovery two
officers approved, as a PKCS#12 file protected by a passphrase typed twice (never echoed, never
kept). Run where the signer's secrets are (CARDFORGE_SIGNER_SECRETS_FILE): only there can the
key be unsealed. Once per request; audited (docs/card-lifecycle.md, "Key recovery")."""

from __future__ import annotations

import getpass
import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from cards.models import KeyRecoveryRequest
from cards.services.key_recovery import key_recovery_export
from config.errors import DomainError


class Command(BaseCommand):
    help = "Write an escrowed key whose recovery two officers approved as a PKCS#12 file, once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("request_id", type=int)
        parser.add_argument("--out", required=True, metavar="FILE", help="the .p12 to write (new)")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.CARDFORGE_IS_SIGNER:
            raise CommandError(
                "run this where the signer's secrets are (CARDFORGE_SIGNER_SECRETS_FILE): "
                "only there can an escrowed key be opened"
            )
        request = KeyRecoveryRequest.objects.filter(pk=options["request_id"]).first()
        if request is None:
            raise CommandError(f"no key recovery request #{options['request_id']}")
        out = Path(options["out"])
        if out.exists():
            raise CommandError(f"--out: {out} exists; name a new file")
        passphrase = getpass.getpass("Passphrase for the PKCS#12 file: ").encode()
        if getpass.getpass("The passphrase again: ").encode() != passphrase:
            raise CommandError("the two passphrases differ; nothing was written")
        # The file first (only its owner may read it), so a request is never marked recovered
        # with nowhere to write the key.
        try:
            descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as error:
            raise CommandError(f"--out: {error.strerror}") from None
        with os.fdopen(descriptor, "wb") as file:
            try:
                blob = key_recovery_export(key_recovery=request, passphrase=passphrase)
            except DomainError as error:
                out.unlink()
                raise CommandError(error.message) from None
            file.write(blob)
        self.stdout.write(
            f"Key of card {request.escrowed_key.card.serial} ({request.escrowed_key.slot}) "
            f"written to {out} for {request.recipient}; request #{request.pk} is now recovered."
        )
