"""Issue 14, attestation: a certificate is issued only for a key the card proved it generated.

Written as attacks: a modified emulator (its F9 certificate signed by a root nobody configured),
a card lying about which key it attests, and a station importing a key it made itself instead of
having the card generate it. Each must end with the job failed, the reason named, and no
certificate issued; a genuine card still gets all four.
"""

from __future__ import annotations

import base64

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from accounts.roles import Role
from cardedge.emulator import make_attestation_root
from cardedge.emulator.handlers import yubico
from cardedge.piv import PivClient, Slot
from cardedge.piv.algorithms import curve_for
from cardprofiles.schema import parse_yaml
from cardprofiles.services.versions import BUILTIN_DIR, card_profile_save_definition
from cards.models import Card
from cards.services.card_requests import card_request_approve, card_request_submit
from personalization.models import JobStep, PersonalizationJob
from personalization.runner.engine import Outcome, job_run
from pki.models import Certificate
from tests.factories import OrganisationFactory, ProfessionalFactory

pytestmark = pytest.mark.django_db


def _job(request) -> PersonalizationJob:
    return PersonalizationJob.objects.get(card_request=request)


def _step(job: PersonalizationJob, name: str) -> dict:
    return JobStep.objects.get(job=job, name=name).detail


def _assert_failed_without_certificates(job: PersonalizationJob, *fragments: str) -> None:
    assert job_run(job_id=job.pk, worker="test") is Outcome.FAILED
    job.refresh_from_db()
    assert (job.status, job.current_step) == ("failed", "issue_certificates")
    assert job.error_code == "AttestationInvalid"
    for fragment in fragments:
        assert fragment in job.error_message, job.error_message
    assert job.error_message.endswith("No certificate was issued.")
    assert job.card.status == Card.Status.FAILED
    assert not Certificate.objects.for_card(job.card).exists()
    assert not JobStep.objects.filter(job=job, name="issue_certificates").exists()


def test_an_attested_card_gets_all_four_certificates_and_its_attestations_are_kept(
    approved, attestation_root
):
    job = _job(approved("hpc-physician"))
    assert job_run(job_id=job.pk, worker="test") is Outcome.DONE
    job.refresh_from_db()
    assert set(
        Certificate.objects.for_card(job.card).valid().values_list("card_slot", flat=True)
    ) == {
        "9A",
        "9C",
        "9D",
        "9E",
    }
    generated = _step(job, "generate_9c")
    device = x509.load_der_x509_certificate(
        base64.b64decode(generated["attestation"]["device_certificate"])
    )
    device.verify_directly_issued_by(attestation_root.certificate)
    attestations = _step(job, "issue_certificates")["attestations"]
    assert set(attestations) == {"9A", "9C", "9D", "9E"}
    assert attestations["9C"]["serial"] == int(job.card.chip_serial)
    assert attestations["9C"]["pin_policy"] == "always"
    assert attestations["9C"]["root"] == attestation_root.certificate.subject.rfc4514_string()


def test_a_modified_emulator_whose_root_is_not_configured_gets_no_certificate(
    approved, settings, tmp_path
):
    rogue = tmp_path / "rogue-root.pem"
    rogue.write_bytes(make_attestation_root("A modified emulator").to_pem())
    settings.CARDFORGE_EMULATOR_ATTESTATION_KEY_FILE = rogue
    job = _job(approved("hpc-physician"))
    _assert_failed_without_certificates(
        job, "slot 9C: the card's attestation certificate", "does not chain to a configured"
    )


def test_with_no_attestation_root_configured_nothing_is_issued(approved, settings, tmp_path):
    settings.CARDFORGE_ATTESTATION_ROOTS = tmp_path / "no-roots-here"
    job = _job(approved("hpc-physician"))
    _assert_failed_without_certificates(job, "slot 9C: no attestation root is configured")


def test_a_card_attesting_another_public_key_gets_no_certificate(approved, monkeypatch):
    """The card's firmware lies: for 9C it attests a key it does not hold, with its own F9 key."""
    honest = yubico.attest

    def lying_attest(**kwargs):
        if kwargs["slot"] == Slot.DIGITAL_SIGNATURE:
            kwargs["public_key"] = ec.generate_private_key(ec.SECP256R1()).public_key()
        return honest(**kwargs)

    monkeypatch.setattr(yubico, "attest", lying_attest)
    job = _job(approved("hpc-physician"))
    _assert_failed_without_certificates(
        job, "slot 9C: the attestation is for another public key than the one journalled"
    )


def _import_instead_of_generating(monkeypatch, slot: Slot) -> None:
    """A station that makes the key itself and imports it, passing it off as generated."""
    generate = PivClient.generate_key

    def generate_or_import(self, key_slot, algorithm, **kwargs):
        if key_slot != slot:
            return generate(self, key_slot, algorithm, **kwargs)
        private_key = ec.generate_private_key(curve_for(algorithm))
        self.import_key(key_slot, private_key, pin_policy=kwargs.get("pin_policy"))
        return private_key.public_key()

    monkeypatch.setattr(PivClient, "generate_key", generate_or_import)


def test_a_key_imported_on_the_qualified_slot_gets_no_certificate(approved, monkeypatch):
    _import_instead_of_generating(monkeypatch, Slot.DIGITAL_SIGNATURE)
    job = _job(approved("hpc-physician"))
    _assert_failed_without_certificates(
        job, "slot 9C: attestation is required, but the card refused: ATTEST"
    )
    assert _step(job, "generate_9c")["attestation"] is None


def _approved_on(definition: dict, users):
    profile = card_profile_save_definition(definition=definition, source="test").version.profile
    request = card_request_submit(
        professional=ProfessionalFactory(organisation=OrganisationFactory()),
        profile=profile,
        by=users[Role.ENROLMENT_OFFICER],
    )
    return card_request_approve(card_request=request, by=users[Role.APPROVING_OFFICER])


@pytest.fixture
def optional_9a(pki, station, users) -> dict:
    """hpc-physician with attestation optional on 9A."""
    definition = parse_yaml((BUILTIN_DIR / "hpc-physician.yaml").read_text(), source="test")
    definition.update(name="hpc-optional-9a", display_name="9A attestation optional")
    definition["slots"]["9A"]["attestation"] = "optional"
    return definition


def test_an_optional_slot_the_card_cannot_attest_is_certified(optional_9a, users, monkeypatch):
    _import_instead_of_generating(monkeypatch, Slot.PIV_AUTHENTICATION)
    job = _job(_approved_on(optional_9a, users))
    assert job_run(job_id=job.pk, worker="test") is Outcome.DONE
    job.refresh_from_db()
    assert _step(job, "issue_certificates")["attestations"]["9A"] is None
    assert Certificate.objects.for_card(job.card).valid().count() == 4


def test_an_optional_slot_whose_attestation_lies_fails_the_job(optional_9a, users, monkeypatch):
    honest = yubico.attest

    def lying_attest(**kwargs):
        if kwargs["slot"] == Slot.PIV_AUTHENTICATION:
            kwargs["slot"] = Slot.CARD_AUTHENTICATION
        return honest(**kwargs)

    monkeypatch.setattr(yubico, "attest", lying_attest)
    job = _job(_approved_on(optional_9a, users))
    _assert_failed_without_certificates(job, "slot 9A: the attestation is for slot 9E")
