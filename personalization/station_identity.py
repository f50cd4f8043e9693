"""An encoder station's identity towards the signer (docs/signer.md): the private key its host
keeps in CARDFORGE_STATION_KEYS_DIR/<name>.key and the certificate CardForge's PKI issued for it
when the station was enrolled (EncoderStation.certificate).

The key signs the station's requests to the signer and opens what the signer seals for the
station's cards (personalization/deliveries.py); it never leaves the station's host.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings

from config.errors import Conflict
from personalization.models import EncoderStation
from pki.station_keys import station_key_load


class StationNotEnrolled(Conflict):
    """The station has no certificate yet, or its host no key: it cannot talk to the signer."""

    code = "station_not_enrolled"


def station_key_path(name: str) -> Path:
    return Path(settings.CARDFORGE_STATION_KEYS_DIR) / f"{name}.key"


def station_key(station: EncoderStation) -> ec.EllipticCurvePrivateKey:
    path = station_key_path(station.name)
    if not path.exists():
        msg = (
            f"station {station.name} has no key on this host ({path}); enrol it: "
            f"`manage.py enrol_station {station.name}`"
        )
        raise StationNotEnrolled(msg)
    return station_key_load(path)


def station_certificate(station: EncoderStation) -> x509.Certificate:
    if station.certificate_id is None:
        msg = (
            f"station {station.name} has no certificate; enrol it: "
            f"`manage.py enrol_station {station.name}`"
        )
        raise StationNotEnrolled(msg)
    return x509.load_der_x509_certificate(bytes(station.certificate.der))


_enrol_here: Callable[[EncoderStation], object] | None = None


def station_enrol_here_register(enrol: Callable[[EncoderStation], object]) -> None:
    """The signer's in-process enrolment (SignerConfig.ready()), for a host where station and
    signer run together on purpose (CARDFORGE_DEVELOPMENT_SHARED_HOST)."""
    global _enrol_here  # noqa: PLW0603 - one per process, registered at start-up
    _enrol_here = enrol


def station_identity_ensure(station: EncoderStation) -> None:
    """The station can talk to the signer: its key on this host and its certificate. On a
    shared development host a missing identity is made here; elsewhere StationNotEnrolled says
    how to enrol the station."""
    try:
        station_key(station)
        station_certificate(station)
    except StationNotEnrolled:
        if not (
            settings.CARDFORGE_DEVELOPMENT_SHARED_HOST
            and settings.CARDFORGE_IS_SIGNER
            and _enrol_here is not None
        ):
            raise
        _enrol_here(station)
