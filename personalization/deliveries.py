"""What the signer hands a station for one attempt of a job, and only that station opens
(sealed for the station's certificate key: pki/envelopes.py).

The signer (docs/signer.md) makes the card's PIN and PUK, its centrally generated private keys
and its derived management key, and stores them here sealed for the job's station; the
station's steps open them (set_pin_puk, the import of central keys, the management key
rotation and the quality check) and the job's end destroys them (job_states). Nothing here is
ever journalled, logged or shown.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field

from cardedge.piv import ManagementKey, Pin, Puk
from cardedge.piv.constants import ManagementKeyAlgorithm
from personalization.models import JobDelivery, PersonalizationJob
from personalization.station_identity import station_certificate, station_key
from pki.envelopes import open_for_station, seal_for_station

MANAGEMENT_KEY_ALGORITHMS = {
    "3des": ManagementKeyAlgorithm.TDES,
    "aes192": ManagementKeyAlgorithm.AES192,
}


class DeliveryMissing(Exception):
    """The job's signer step is journalled but what it made for the station is gone."""


@dataclass(frozen=True)
class Delivery:
    pin: Pin = field(repr=False)
    puk: Puk = field(repr=False)
    management_key: ManagementKey = field(repr=False)
    central_keys: dict[str, bytes] = field(repr=False)  # slot -> PKCS#8 DER
    # The holder's earlier escrowed encryption keys, PKCS#8 DER, for retired slots 82, 83, …
    retired_keys: list[bytes] = field(repr=False, default_factory=list)


def _context(job: PersonalizationJob, attempt: int) -> bytes:
    """What a delivery is for: this station, this job, this attempt (a blob moved to another
    row does not open)."""
    return f"station {job.station.name}/job {job.pk}/attempt {attempt}".encode()


def delivery_store(
    *,
    job: PersonalizationJob,
    pin: Pin,
    puk: Puk,
    management_key: ManagementKey,
    management_key_algorithm: str,
    central_keys: dict[str, bytes],
    retired_keys: list[bytes] | None = None,
) -> None:
    """In the signer's transaction that journals its step."""
    contents = {
        "pin": pin.reveal().decode(),
        "puk": puk.reveal().decode(),
        "management_key": management_key.reveal().hex(),
        "management_key_algorithm": management_key_algorithm,
        "central_keys": {
            slot: base64.b64encode(der).decode() for slot, der in central_keys.items()
        },
        "retired_keys": [base64.b64encode(der).decode() for der in retired_keys or []],
    }
    # One per attempt (a constraint): the signer's step makes it in the transaction that
    # journals the step, so a step run again after a crash finds none.
    JobDelivery.objects.create(
        job=job,
        attempt=job.attempt,
        sealed=seal_for_station(
            json.dumps(contents).encode(),
            certificate=station_certificate(job.station),
            context=_context(job, job.attempt),
        ),
    )


def delivery_open(job: PersonalizationJob) -> Delivery:
    row = JobDelivery.objects.filter(job=job, attempt=job.attempt).first()
    if row is None:
        msg = f"job {job.pk}: what the signer made for its station is gone; retry the job"
        raise DeliveryMissing(msg)
    contents = json.loads(
        open_for_station(
            bytes(row.sealed), key=station_key(job.station), context=_context(job, job.attempt)
        )
    )
    return Delivery(
        pin=Pin(contents["pin"]),
        puk=Puk(contents["puk"]),
        management_key=ManagementKey(
            MANAGEMENT_KEY_ALGORITHMS[contents["management_key_algorithm"]],
            bytes.fromhex(contents["management_key"]),
        ),
        central_keys={
            slot: base64.b64decode(value) for slot, value in contents["central_keys"].items()
        },
        retired_keys=[base64.b64decode(value) for value in contents.get("retired_keys", [])],
    )


def deliveries_destroy(job: PersonalizationJob) -> int:
    """The job has ended (or starts a new attempt): nothing made for it stays."""
    deleted, _ = JobDelivery.objects.filter(job=job).delete()
    return deleted
