from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from config.errors import DomainError
from pki.management.commands._common import command_error
from pki.profiles import ca_certificate_url, crl_url, ocsp_url
from pki.services.cas import pki_bootstrap


class Command(BaseCommand):
    help = (
        "Create the CA hierarchy once: a root CA, the authentication and qualified-signature "
        "issuing CAs, an OCSP responder per issuing CA, their first CRLs and the card-management "
        "master key. Running it again changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--backend",
            choices=list(settings.PKI_KEY_BACKENDS),
            default=settings.PKI_DEFAULT_KEY_BACKEND,
            help="Key backend alias new keys are created in (default: %(default)s). "
            "pkcs11 needs CARDFORGE_PKCS11_MODULE, _TOKEN_LABEL and _PIN.",
        )

    def handle(self, *args: object, backend: str, **options: object) -> None:
        try:
            result = pki_bootstrap(backend=backend)
        except DomainError as exc:
            raise command_error(exc, {"backend": "--backend"}) from None
        if result.changed:
            for line in result.created:
                self.stdout.write(self.style.SUCCESS(f"created {line}"))
        else:
            self.stdout.write("The PKI is already bootstrapped; nothing changed.")
        for ca in (result.root, *result.issuing.values()):
            self.stdout.write(
                f"{ca.slug:<24} {ca.purpose:<20} {ca.key_backend}:{ca.key_algorithm:<9} "
                f"until {ca.not_after:%Y-%m-%d}"
            )
            self.stdout.write(f"    certificate {ca_certificate_url(ca.slug)}")
            self.stdout.write(f"    CRL         {crl_url(ca.slug)}")
            if not ca.is_root:
                self.stdout.write(f"    OCSP        {ocsp_url(ca.slug)}")
