"""The platform's own keys in the HSM (PKCS#11, SoftHSM2 here): the audit trail's checkpoints
and the reports signed there, checked as everywhere else."""

from __future__ import annotations

import io

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from django.db import transaction
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from audit.events import EventType
from audit.selectors import audit_chain_verify
from audit.services import audit_record
from personalization.documents.render import html_to_pdf
from pki.models import PlatformSigner
from pki.services.audit_checkpoints import audit_checkpoint_write
from pki.services.document_signing import pdf_sign
from pki.services.platform_signers import platform_signer_create
from pki.services.signing import ca_certificate

pytestmark = [pytest.mark.softhsm, pytest.mark.django_db]


def test_checkpoints_and_reports_signed_by_keys_in_the_hsm(pki):
    pki.for_backend("pkcs11")  # skipped without SoftHSM2
    made = [
        platform_signer_create(purpose=purpose, backend_alias="pkcs11")
        for purpose in PlatformSigner.Purpose
    ]
    assert {signer.key_backend for signer in made} == {"pkcs11"}
    assert PlatformSigner.objects.current().filter(key_backend="pkcs11").count() == 2

    with transaction.atomic():
        audit_record(event=EventType.USER_LOGGED_IN)
    checkpoint = audit_checkpoint_write(force=True)
    report = audit_chain_verify()
    assert report.intact
    assert [anchor.sequence for anchor in report.checkpoints] == [checkpoint.sequence]

    signed = pdf_sign(html_to_pdf("<p>CardForge</p>"), reason="test")
    signature = PdfFileReader(io.BytesIO(signed), strict=False).embedded_signatures[0]
    root = asn1_x509.Certificate.load(
        # The keys are in the HSM; their certificates come from the current authentication CA.
        ca_certificate(made[0].certificate.ca.parent).public_bytes(serialization.Encoding.DER)
    )
    status = validate_pdf_signature(
        signature, ValidationContext(trust_roots=[root], allow_fetching=False)
    )
    assert status.intact
    assert status.valid
    assert status.trusted
