"""The signer's Celery task, on its own queue (`signer`), run by `manage.py run_signer`."""

from __future__ import annotations

from celery import shared_task

from signer.requests import signer_request_handle


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def sign_job(self, request: dict, resume: bool = True) -> str:
    """A station's request (signer/requests.py). Idempotent: delivered twice, the second finds
    the step journalled and only sends the job back to its station."""
    return signer_request_handle(request, resume=resume).value
