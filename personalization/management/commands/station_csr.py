"""`manage.py station_csr NAME`: on a station's host, its key (made if missing, in
CARDFORGE_STATION_KEYS_DIR, mode 0600) and the certificate request to enrol it, printed as PEM
for `manage.py enrol_station NAME --csr FILE` where the signer runs."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from personalization.models import EncoderStation
from personalization.station_identity import station_key_path
from pki.station_keys import (
    StationKeyError,
    station_csr_build,
    station_key_generate,
    station_key_load,
)


class Command(BaseCommand):
    help = "Make station NAME's key on this host if it has none, and print its certificate request."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["name"]
        if not EncoderStation.objects.filter(name=name).exists():
            raise CommandError(f"no station named {name!r}")
        path = station_key_path(name)
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            key = station_key_load(path) if path.exists() else station_key_generate(path)
        except StationKeyError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(station_csr_build(key, name).decode(), ending="")
