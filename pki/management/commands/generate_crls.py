from django.core.management.base import BaseCommand, CommandParser

from config.errors import DomainError
from pki.management.commands._common import command_error
from pki.selectors import ca_get
from pki.services.crl import crl_generate, crls_generate


class Command(BaseCommand):
    help = "Issue a fresh CRL for every unexpired CA (or one, with --ca), as the schedule does."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--ca", metavar="SLUG", help="only this CA")

    def handle(self, *args: object, ca: str | None = None, **options: object) -> None:
        try:
            crls = [crl_generate(ca=ca_get(slug=ca))] if ca else crls_generate()
        except DomainError as exc:
            raise command_error(exc, {"ca": "--ca"}) from None
        for crl in crls:
            self.stdout.write(
                f"{crl.ca.slug:<24} CRL #{crl.number}: {crl.entries} entries, "
                f"next update {crl.next_update:%Y-%m-%d %H:%M} UTC"
            )
