"""The signer's Celery task, on its own queue (`signer`), run by `manage.py run_signer`."""

from __future__ import annotations

from celery import shared_task

from signer.requests import signer_envelope_handle


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def sign_job(envelope: str) -> str:
    """A station's signed request (signer/requests.py); a request not signed by a registered
    station is refused and audited. Idempotent: delivered twice, the second finds the step
    journalled and only sends the job back to its station."""
    return signer_envelope_handle(envelope).value
