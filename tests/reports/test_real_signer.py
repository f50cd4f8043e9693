"""The signer's worker, a real process on Redis and PostgreSQL, is what signs a report and
anchors the audit trail: the process that builds the report needs none of the signer's
secrets."""

from __future__ import annotations

import io
import time

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from django.conf import settings
from django.utils import timezone
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from accounts.roles import Role
from audit.models import AuditCheckpoint
from audit.selectors import audit_chain_verify
from pki.services.signing import ca_certificate
from reports.models import AuditReport
from reports.services import report_build, report_request, report_sign_send
from tests.personalization.jobs.workers import (
    WorkerProcess,
    forget_run,
    run_id,
    worker_environment,
)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]
WAIT_SECONDS = 60.0


@pytest.fixture
def broker():
    """Tasks go to the broker, not into this process (tests/reports/conftest.py makes them
    eager for the other tests)."""
    from config.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = previous


@pytest.fixture
def signer_queue(broker, tmp_path):
    queue = f"{run_id()}-signer"
    worker = WorkerProcess.signer(
        tmp_path / "signer.log",
        env=worker_environment(
            CARDFORGE_SIGNER_QUEUE=queue,
            CARDFORGE_AUDIT_CHECKPOINT_DIR=str(settings.CARDFORGE_AUDIT_CHECKPOINT_DIR),
        ),
    )
    try:
        worker.wait_ready()
        yield queue, worker
    finally:
        assert worker.stop() == 0, worker.log()[-3000:]
        forget_run(queue, [queue])


def _until(condition, worker, what: str):
    deadline = time.monotonic() + WAIT_SECONDS
    while not (found := condition()):
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not done after {WAIT_SECONDS:.0f} s:\n{worker.log()[-3000:]}")
        time.sleep(0.1)
    return found


def test_the_signers_worker_signs_the_report_and_writes_the_checkpoint(
    pki, users, signer_queue, settings
):
    queue, worker = signer_queue
    settings.CARDFORGE_SIGNER_QUEUE = queue
    today = timezone.localdate()
    report = report_request(start=today, end=today, by=users[Role.AUDITOR], build=False)
    report_build(report.pk, sign=False)  # here, as the default queue's worker would
    assert AuditReport.objects.get(pk=report.pk).status == "signing"

    from reports.tasks import report_sign

    report_sign.apply_async(args=[report.pk], queue=queue)
    ready = _until(
        lambda: AuditReport.objects.filter(pk=report.pk, status="ready").first(),
        worker,
        "the report's signature",
    )
    signature = PdfFileReader(io.BytesIO(bytes(ready.pdf)), strict=False).embedded_signatures[0]
    root = asn1_x509.Certificate.load(
        ca_certificate(pki.root).public_bytes(serialization.Encoding.DER)
    )
    context = ValidationContext(trust_roots=[root], allow_fetching=False)
    status = validate_pdf_signature(signature, context)
    assert status.intact
    assert status.valid
    assert status.trusted
    assert "report_sign" in worker.log()

    from pki.tasks import audit_checkpoint

    audit_checkpoint.apply_async(queue=queue)
    checkpoint = _until(AuditCheckpoint.objects.first, worker, "the checkpoint")
    report = audit_chain_verify()
    assert report.intact
    assert [anchor.sequence for anchor in report.checkpoints] == [checkpoint.sequence]
    assert checkpoint.path.exists()


def test_report_sign_send_goes_to_the_signers_queue(pki, users, signer_queue, settings):
    """What `manage.py audit_report` and a build worker call: the signer's queue by setting."""
    queue, worker = signer_queue
    settings.CARDFORGE_SIGNER_QUEUE = queue
    today = timezone.localdate()
    report = report_request(start=today, end=today, by=users[Role.AUDITOR], build=False)
    report_build(report.pk, sign=False)
    report_sign_send(AuditReport.objects.get(pk=report.pk))
    _until(
        lambda: AuditReport.objects.filter(pk=report.pk, status="ready").exists(),
        worker,
        "the report's signature",
    )
