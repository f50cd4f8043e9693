"""Names at the edge of what enrolment accepts go onto a card: enrolled through the registry
service (as the form, the API and the CSV import do), approved by another officer, personalized
on an emulated card to the end (quality check included)."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from accounts.roles import Role
from cardedge.piv import PivClient
from cardedge.transports.emulated import EmulatedTransport
from cards.services.secrets import pin_mailer_secrets
from config.errors import ValidationFailed
from issuance.names import NAME_MAX_BYTES
from issuance.services.registry import professional_create
from personalization.emulated_cards import emulated_card_open
from personalization.models import PersonalizationJob
from personalization.runner.engine import Outcome, job_run
from pki.models import Certificate
from pki.text import first_grapheme
from tests.factories import OrganisationFactory, ProfessionalFactory, valid_rpps
from tests.long_names import LONGEST
from tests.pki.lint import lint_etsi_cert, lint_pkix_cert

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


@pytest.fixture(autouse=True)
def _public_urls(settings):
    """Certificates must name public DNS names to pass pkilint (tests/pki/conftest.py)."""
    settings.CARDFORGE_PKI_BASE_URL = "http://pki.example.org"
    settings.PKI_QCPDS_URL = "https://www.example.org/pki/pds/en"


@pytest.mark.slow  # a whole card per script: about 5 s together
@pytest.mark.parametrize("script", list(LONGEST))
def test_a_card_is_issued_for_the_longest_names_enrolment_accepts(approved, users, script):
    first_name, last_name = LONGEST[script]
    for name in (first_name, last_name):
        assert NAME_MAX_BYTES - 6 < len(name.encode()) <= NAME_MAX_BYTES, name
    professional = _enrol(users, first_name=first_name, last_name=last_name)
    assert (professional.first_name, professional.last_name) == (first_name, last_name)
    professional.organisation = OrganisationFactory(name="Hôpital " + "é" * 80)
    professional.save()

    job = _personalize(approved, professional)

    initial = first_grapheme(first_name)
    common_names = {f"{first_name} {last_name}", f"{initial}. {last_name}", last_name}
    for row in Certificate.objects.for_card(job.card):
        der = bytes(row.der)
        subject = x509.load_der_x509_certificate(der).subject

        def value(oid, subject=subject):
            [attribute] = subject.get_attributes_for_oid(oid)
            return attribute.value

        # Whole: enrolment's rule keeps them within what the subject holds.
        assert (value(NameOID.SURNAME), value(NameOID.GIVEN_NAME)) == (last_name, first_name)
        assert value(NameOID.COMMON_NAME) in common_names
        organisation = value(NameOID.ORGANIZATION_NAME)
        assert professional.organisation.name.startswith(organisation)
        for oid in (NameOID.COMMON_NAME, NameOID.ORGANIZATION_NAME):
            assert len(value(oid).encode()) <= 64  # ub-common-name, ub-organization-name
        assert lint_pkix_cert(der) == [], row.card_slot
        if row.card_slot == "9C":
            assert lint_etsi_cert(der)[1] == []

    # The card's printed information holds "first last" whole (SP 800-73-4: 125 bytes).
    pin, _ = pin_mailer_secrets(job.card.pin_mailer)
    client = PivClient.connect(EmulatedTransport(emulated_card_open(job.card.emulated_card)))
    client.verify_pin(pin)
    assert client.read_printed_information().name == f"{first_name} {last_name}"
