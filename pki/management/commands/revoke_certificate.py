import getpass

from django.core.management.base import BaseCommand, CommandParser

from config.errors import DomainError
from pki.management.commands._common import command_error
from pki.reasons import END_ENTITY_REASONS
from pki.selectors import certificate_get_by_serial
from pki.services.revocation import certificate_revoke

_OPTIONS = {"reason": "--reason", "serial": "SERIAL", "ca": "--ca"}


class Command(BaseCommand):
    help = (
        "Emergency revocation by an administrator, without a second officer's approval: the "
        "audit event is flagged as an emergency action. Everyday revocations go through the "
        "four-eyes API. --reason certificateHold puts on hold; removeFromCRL releases a hold."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("serial", metavar="SERIAL", help="serial number, hex")
        parser.add_argument(
            "--reason",
            required=True,
            help="RFC 5280 reason: " + ", ".join(reason.label for reason in END_ENTITY_REASONS),
        )
        parser.add_argument("--ca", metavar="SLUG", help="issuing CA, if the serial is ambiguous")
        parser.add_argument("--comment", default="", help="why (kept in the audit trail)")

    def handle(
        self,
        *args: object,
        serial: str,
        reason: str,
        ca: str | None = None,
        comment: str | None = None,
        **options: object,
    ) -> None:
        # No --by: a command cannot name another user as the actor. It is recorded as the system,
        # flagged as an emergency, with the operating-system user who ran it.
        operator = f"command line, OS user {getpass.getuser()}"
        try:
            certificate = certificate_get_by_serial(serial=serial, ca_slug=ca)
            certificate = certificate_revoke(
                certificate=certificate,
                reason=reason,
                by=None,
                emergency=True,
                comment=f"{comment or ''} [{operator}]".strip(),
            )
        except DomainError as exc:
            raise command_error(exc, _OPTIONS) from None
        self.stdout.write(
            self.style.WARNING(
                f"certificate {certificate.serial} of CA {certificate.ca.slug} is now "
                f"{certificate.get_status_display().lower()} (emergency action, audited)"
            )
        )
