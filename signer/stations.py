"""Enrolling an encoder station: the signer issues the certificate of the key its host keeps
(pki.services.stations.station_certificate_issue), and the station is known by it from then on
(docs/signer.md)."""

from __future__ import annotations

from django.db import transaction

from config.statements import update_where
from personalization.models import EncoderStation
from personalization.station_identity import station_key_path
from pki.models import Certificate
from pki.reasons import RevocationReason
from pki.services.revocation import certificate_revoke
from pki.services.stations import station_certificate_issue
from pki.station_keys import station_csr_build, station_key_generate, station_key_load


@transaction.atomic
def station_enrol(*, station: EncoderStation, csr_pem: bytes | str, by=None) -> Certificate:
    """Certify the key of `csr_pem` (made on the station's host) as `station`'s: its requests
    are answered, and what is made for its cards sealed for that key, from now on. The
    certificate it had before is revoked (superseded): whoever kept the former key gets
    nothing more."""
    former = (
        Certificate.objects.filter(pk=station.certificate_id).first()
        if station.certificate_id is not None
        else None
    )
    certificate = station_certificate_issue(
        station_name=station.name, csr_der_or_pem=csr_pem, by=by
    )
    update_where(EncoderStation, {"certificate_id": certificate.pk}, {"id": station.pk})
    if former is not None and former.status == Certificate.Status.VALID:
        certificate_revoke(
            certificate=former,
            reason=RevocationReason.SUPERSEDED,
            by=by,
            comment=f"station {station.name} enrolled again: certificate {certificate.serial}",
        )
    station.certificate = certificate
    return certificate


def station_enrol_here(station: EncoderStation, *, by=None) -> Certificate:
    """Station and signer on this host (development, tests, a process running both): the
    station's key is made here if it has none (CARDFORGE_STATION_KEYS_DIR), and certified."""
    path = station_key_path(station.name)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = station_key_load(path) if path.exists() else station_key_generate(path)
    return station_enrol(station=station, csr_pem=station_csr_build(key, station.name), by=by)
