"""Celery tasks of the PKI: thin wrappers around services, safe to run twice."""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from django.conf import settings
from django.db import OperationalError
from kombu.exceptions import OperationalError as KombuOperationalError

from config.errors import NotFound
from pki.models import CertificateAuthority
from pki.services.audit_checkpoints import audit_checkpoint_write
from pki.services.cas import ocsp_responders_renew_due
from pki.services.crl import crl_generate
from pki.services.crl import crls_generate as crls_generate_service
from pki.services.platform_signers import platform_signers_ensure

logger = logging.getLogger(__name__)

# Celery ships no type hints (no py.typed; celery-types is not a dependency), so `shared_task` is
# Any to mypy and each task below ignores strict mode's [untyped-decorator] for that stub gap.


@shared_task(  # type: ignore[untyped-decorator]  # celery is untyped
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
)
def crl_regenerate(ca_id: int, requested_at: str) -> int | None:
    """A new CRL for one CA after a revocation; skipped when a CRL begun after `requested_at`
    already exists (a redelivered or coalesced message does no extra work)."""
    ca = CertificateAuthority.objects.filter(pk=ca_id).first()
    if ca is None:
        return None
    return crl_generate(ca=ca, requested_at=dt.datetime.fromisoformat(requested_at)).number


@shared_task(  # type: ignore[untyped-decorator]  # celery is untyped
    acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3
)
def crls_generate() -> int:
    """Beat schedule (settings.CELERY_BEAT_SCHEDULE): a fresh CRL for every unexpired CA."""
    return len(crls_generate_service())


@shared_task(  # type: ignore[untyped-decorator]  # celery is untyped
    acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3
)
def ocsp_responders_renew() -> int:
    """Beat schedule: replace OCSP responder certificates close to expiry."""
    return len(ocsp_responders_renew_due())


@shared_task(  # type: ignore[untyped-decorator]  # celery is untyped
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
    expires=25,  # the next beat sends another
)
def audit_checkpoint() -> int | None:
    """Beat schedule, every 30 s: a signed checkpoint of the audit trail when one is due
    (docs/audit.md); the platform keys are renewed first when close to expiry. Returns the
    sequence number anchored, or None."""
    try:
        platform_signers_ensure()
        checkpoint = audit_checkpoint_write()
    except NotFound as missing:  # before `bootstrap_pki`: nothing can sign yet
        logger.warning("no audit checkpoint: %s", missing.message)
        return None
    return checkpoint.sequence if checkpoint else None


def queue_crl_regeneration(*, ca_id: int, requested_at: dt.datetime) -> None:
    """Called on commit of a revocation: the signer's worker makes the CRL (the CA key is
    there). If the broker cannot take the message and this process holds the CA keys (the
    signer, or a shared development host), the CRL is made here and now instead: a revocation
    must reach the CRL without waiting for the schedule."""
    try:
        crl_regenerate.delay(ca_id, requested_at.isoformat())
    except (KombuOperationalError, OSError):
        if not settings.CARDFORGE_IS_SIGNER:
            logger.warning("broker unavailable; the CRL of CA %s waits for the schedule", ca_id)
            return
        logger.warning("broker unavailable; generating the CRL of CA %s in process", ca_id)
        ca = CertificateAuthority.objects.filter(pk=ca_id).first()
        if ca is not None:
            crl_generate(ca=ca, requested_at=requested_at)
