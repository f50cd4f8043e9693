"""`manage.py enrol_station NAME (--csr FILE | --here)`: certify an encoder station's key.

Run where the signer's secrets are (CARDFORGE_SIGNER_SECRETS_FILE): the certificate is signed
by the authentication CA. `--csr` takes the request made on the station's host
(`manage.py station_csr NAME` there); `--here` makes the station's key on this host, for a
station that runs here too (development).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from config.errors import DomainError
from personalization.models import EncoderStation
from personalization.station_identity import (
    StationNotEnrolled,
    station_certificate,
    station_key,
)
from pki.models import Certificate
from signer.stations import station_enrol, station_enrol_here


def _enrolled_here(station: EncoderStation) -> bool:
    """Its valid certificate names the key this host keeps for it."""
    try:
        key = station_key(station)
        certificate = station_certificate(station)
    except StationNotEnrolled:
        return False
    return (
        station.certificate.status == Certificate.Status.VALID
        and certificate.public_key() == key.public_key()
    )


class Command(BaseCommand):
    help = "Certify encoder station NAME's key: --csr FILE from its host, or --here."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        how = parser.add_mutually_exclusive_group(required=True)
        how.add_argument("--csr", metavar="FILE", help="the station's certificate request (PEM)")
        how.add_argument("--here", action="store_true", help="make the station's key on this host")

    def handle(self, *args: Any, **options: Any) -> None:
        station = EncoderStation.objects.filter(name=options["name"]).first()
        if station is None:
            raise CommandError(f"no station named {options['name']!r}")
        if options["here"] and _enrolled_here(station):
            self.stdout.write(f"Station {station.name} is enrolled already (its key is here).")
            return
        try:
            if options["here"]:
                certificate = station_enrol_here(station)
            else:
                csr = Path(options["csr"]).read_bytes()
                certificate = station_enrol(station=station, csr_pem=csr)
        except OSError as error:
            raise CommandError(f"--csr: {error.strerror}") from None
        except DomainError as error:
            raise CommandError(error.message) from None
        self.stdout.write(
            f"Station {station.name} enrolled: certificate {certificate.serial}, valid until "
            f"{certificate.not_after:%Y-%m-%d}."
        )
