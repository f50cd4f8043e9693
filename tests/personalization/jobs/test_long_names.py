"""Names at the edge of what enrolment accepts go onto a card: enrolled through the registry
service (as the form, the API and the CSV import do), approved by another officer, personalized
on an emulated card to the end (quality check included)."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from accounts.roles import Role
from config.errors import ValidationFailed
from issuance.services.registry import professional_create
from personalization.models import PersonalizationJob
from personalization.runner.engine import Outcome, job_run
from pki.models import Certificate
from tests.factories import OrganisationFactory, ProfessionalFactory, valid_rpps

pytestmark = pytest.mark.django_db


def _enrol(users, *, last_name: str, first_name: str):
    return professional_create(
        data={
            "rpps": valid_rpps(),
            "last_name": last_name,
            "first_name": first_name,
            "profession": "physician",
            "email": "long.name@example.org",
        },
        by=users[Role.ENROLMENT_OFFICER],
    )


def _personalize(approved, professional) -> PersonalizationJob:
    job = PersonalizationJob.objects.get(card_request=approved(professional=professional))
    outcome = job_run(job_id=job.pk, worker="test")
    job.refresh_from_db()
    assert (outcome, job.status, job.error_code) == (Outcome.DONE, "done", ""), job.error_message
    return job


def _subjects(job: PersonalizationJob) -> list[x509.Name]:
    return [
        x509.load_der_x509_certificate(bytes(row.der)).subject
        for row in Certificate.objects.for_card(job.card)
    ]


def test_a_last_name_of_64_accented_letters_never_fails_a_job(approved, users):
    """Issue 12: 64 "É" (128 bytes) passed enrolment and the job died at "issue the
    certificates" with an internal error, burning a card at each retry. Now enrolment refuses
    it, saying why, before any card is touched."""
    with pytest.raises(ValidationFailed) as refused:
        _enrol(users, last_name="É" * 64, first_name="Anne")
    assert refused.value.errors[0].field == "last_name"
    assert PersonalizationJob.objects.count() == 0


def test_a_record_enrolled_before_the_rule_still_gets_its_card(approved):
    """A name stored before enrolment checked bytes (or by any other path) is fitted by the
    certificate profile and the printed information instead of failing the job."""
    professional = ProfessionalFactory(
        last_name="É" * 64, first_name="Ùrsula-Éloïse", organisation=OrganisationFactory()
    )
    job = _personalize(approved, professional)
    for subject in _subjects(job):
        common_name = subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
        surname = subject.get_attributes_for_oid(NameOID.SURNAME)[0].value
        assert len(common_name.encode()) <= 64
        assert surname != "É" * 64
        assert ("É" * 64).startswith(surname)
