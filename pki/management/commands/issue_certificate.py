from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from config.errors import DomainError
from issuance.models import Professional
from pki.management.commands._common import command_error, user_by_name
from pki.profiles import END_ENTITY_PROFILES
from pki.selectors import ca_get
from pki.services.certificates import certificate_issue
from pki.x509util import MAX_PUBLIC_KEY_BYTES

_OPTIONS = {
    "profile": "--profile",
    "public_key": "--public-key",
    "professional": "--professional",
    "slot": "--slot",
    "ca": "--ca",
}


class Command(BaseCommand):
    help = (
        "Issue a certificate for a public key (PEM SubjectPublicKeyInfo, or a PEM CSR whose key "
        "is used) to a registered professional, and write it as PEM."
    )

    def add_arguments(self, parser):
        parser.add_argument("--profile", required=True, choices=END_ENTITY_PROFILES)
        parser.add_argument("--professional", required=True, metavar="RPPS")
        parser.add_argument("--public-key", required=True, type=Path, metavar="FILE.pem")
        parser.add_argument("--out", required=True, type=Path, metavar="FILE.pem")
        parser.add_argument("--slot", help="PIV slot; must be the profile's (9A, 9C, 9D, 9E)")
        parser.add_argument("--ca", metavar="SLUG", help="issuing CA (default: the current one)")
        parser.add_argument("--by", metavar="USERNAME", help="user recorded as the issuer")
        parser.add_argument("--force", action="store_true", help="overwrite --out if it exists")

    def handle(self, *args, **options):
        key_path: Path = options["public_key"]
        out: Path = options["out"]
        try:
            if key_path.stat().st_size > MAX_PUBLIC_KEY_BYTES:
                msg = f"--public-key: {key_path} is too large to be a public key"
                raise CommandError(msg)
            public_key = key_path.read_bytes()
        except OSError as exc:
            msg = f"--public-key: cannot read {key_path} ({exc.strerror})"
            raise CommandError(msg) from None
        if out.exists() and not options["force"]:
            msg = f"--out: {out} exists (use --force to overwrite)"
            raise CommandError(msg)
        professional = Professional.objects.filter(rpps=options["professional"].strip()).first()
        if professional is None:
            msg = f"--professional: no professional with RPPS number {options['professional']!r}"
            raise CommandError(msg)
        try:
            ca = ca_get(slug=options["ca"]) if options["ca"] else None
            certificate = certificate_issue(
                public_key=public_key,
                profile=options["profile"],
                professional=professional,
                slot=options["slot"],
                ca=ca,
                by=user_by_name(options["by"]),
            )
        except DomainError as exc:
            raise command_error(exc, _OPTIONS) from None
        try:
            out.write_text(certificate.pem, encoding="ascii")
        except OSError as exc:
            msg = (
                f"--out: cannot write {out} ({exc.strerror}); certificate {certificate.serial} "
                "was issued and is recorded"
            )
            raise CommandError(msg) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"issued {certificate.profile} certificate {certificate.serial} "
                f"({certificate.subject}) to {out}"
            )
        )
