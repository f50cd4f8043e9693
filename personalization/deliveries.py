"""What the signer hands a station for one attempt of a job, and only that station opens.

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
from config.sealing import seal, unseal
from personalization.models import JobDelivery, PersonalizationJob

PURPOSE = "station-delivery"

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


def _owner(job: PersonalizationJob, attempt: int) -> str:
    return f"{job.station.name}/job {job.pk}/attempt {attempt}"


def delivery_store(
    *,
    job: PersonalizationJob,
    pin: Pin,
    puk: Puk,
    management_key: ManagementKey,
    management_key_algorithm: str,
    central_keys: dict[str, bytes],
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
    }
    JobDelivery.objects.filter(job=job, attempt=job.attempt).delete()
    JobDelivery.objects.create(
        job=job,
        attempt=job.attempt,
        sealed=seal(json.dumps(contents).encode(), purpose=PURPOSE, owner=_owner(job, job.attempt)),
    )


def delivery_open(job: PersonalizationJob) -> Delivery:
    row = JobDelivery.objects.filter(job=job, attempt=job.attempt).first()
    if row is None:
        msg = f"job {job.pk}: what the signer made for its station is gone; retry the job"
        raise DeliveryMissing(msg)
    contents = json.loads(unseal(row.sealed, purpose=PURPOSE, owner=_owner(job, job.attempt)))
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
    )


def deliveries_destroy(job: PersonalizationJob) -> int:
    """The job has ended (or starts a new attempt): nothing made for it stays."""
    deleted, _ = JobDelivery.objects.filter(job=job).delete()
    return deleted
