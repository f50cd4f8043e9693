"""Issue 12, written as the attacks of one insider acting alone. Each of these succeeded on main
at bca2749 (the card was made, the forged change accepted); each must now be refused.

1. identity swapped after approval (by an edit, a CSV re-import, or a raw database edit);
3. `manage.py issue_certificate` signing a qualified certificate for any key, `--by` anyone;
4. the runner trusting the job row (a job inserted for a request that was only submitted; a
   task for another station's job);
5. `submitted_by` changed by UPDATE before the decision; cancelling another officer's request.
"""

from __future__ import annotations

import subprocess

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.roles import Role
from audit.events import EventType
from audit.models import AuditEvent
from cardedge.piv import PivClient
from cardedge.transports.emulated import EmulatedTransport
from cards.models import Card, CardRequest, PinMailer
from cards.services.card_requests import (
    card_request_approve,
    card_request_cancel,
    card_request_submit,
)
from cards.services.secrets import pin_mailer_secrets
from config.errors import Conflict, NotAllowed
from issuance.models import Professional
from issuance.services.imports import professionals_import
from issuance.services.registry import professional_update
from personalization.documents.render import card_face_pdf, carrier_pdf, pin_mailer_pdf
from personalization.emulated_cards import emulated_card_open
from personalization.models import EncoderStation, PersonalizationJob
from personalization.runner import engine
from personalization.runner.engine import Outcome, job_run
from personalization.services.documents import card_document_data
from personalization.services.stations import station_create
from personalization.tasks import personalize_card
from pki.models import Certificate
from signer import requests as signer_requests
from signer.stations import station_enrol_here
from signer.tasks import sign_job
from tests.factories import OrganisationFactory, ProfessionalFactory, make_user

pytestmark = pytest.mark.django_db


def _job(card_request) -> PersonalizationJob:
    return PersonalizationJob.objects.get(card_request=card_request)


def _holder_names(card: Card) -> set[str]:
    names = set()
    for certificate in Certificate.objects.for_card(card):
        subject = x509.load_der_x509_certificate(bytes(certificate.der)).subject
        names |= {attribute.value for attribute in subject.get_attributes_for_oid(NameOID.SURNAME)}
    return names


def _pdf_text(pdf: bytes, tmp_path, name: str) -> str:
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


# --- 1. the identity swapped after approval ---------------------------------------------------


def test_an_edit_after_approval_is_refused_naming_the_request(approved, users):
    request = approved()
    victim = request.professional
    with pytest.raises(Conflict, match=rf"card request #{request.pk} \(approved\)"):
        professional_update(
            professional=victim,
            data={"last_name": "Complice", "first_name": "Mallory", "city": "Marseille"},
            by=users[Role.ENROLMENT_OFFICER],
        )
    victim.refresh_from_db()
    assert victim.last_name != "Complice"
    # Fields the card does not carry stay editable? None: every registry field is in the
    # snapshot; an unchanged value is no change.
    professional_update(
        professional=victim, data={"city": victim.city}, by=users[Role.ENROLMENT_OFFICER]
    )


def test_a_csv_reimport_after_approval_is_refused_naming_the_request(approved, users):
    request = approved()
    victim = request.professional
    csv = (
        "rpps,last_name,first_name,profession,email\n"
        f"{victim.rpps},Complice,Mallory,10,{victim.email}\n"
    ).encode()
    report = professionals_import(content=csv, by=users[Role.ENROLMENT_OFFICER])
    assert not report.written
    assert [error.line for error in report.errors] == [2]
    assert f"card request #{request.pk}" in report.errors[0].message
    victim.refresh_from_db()
    assert victim.last_name != "Complice"


def test_the_card_carries_the_approved_identity_even_after_a_raw_database_edit(approved, tmp_path):
    """A database administrator rewrites the professional's row under an approved request: the
    certificates, the card's printed information and the three documents still carry the
    identity that was approved."""
    request = approved()
    approved_name = request.professional.last_name
    Professional.objects.filter(pk=request.professional_id).update(
        last_name="Complice", first_name="Mallory", address_line1="13 impasse des Faussaires"
    )
    job = _job(request)
    assert job_run(job_id=job.pk, worker="test") is Outcome.DONE
    job.refresh_from_db()
    card = job.card

    assert _holder_names(card) == {approved_name}
    secrets = pin_mailer_secrets(PinMailer.objects.get(card=card))
    client = PivClient.connect(EmulatedTransport(emulated_card_open(card.emulated_card)))
    client.verify_pin(secrets[0])
    assert approved_name in client.read_printed_information().name
    assert "Complice" not in client.read_printed_information().name

    document = card_document_data(card)
    assert document.last_name == approved_name
    assert all("Faussaires" not in line for line in document.address_lines)


@pytest.mark.poppler
def test_the_three_documents_carry_the_snapshot_once_the_request_is_closed(approved, tmp_path):
    request = approved()
    approved_name = request.professional.last_name
    job = _job(request)
    assert job_run(job_id=job.pk, worker="test") is Outcome.DONE
    request.refresh_from_db()
    assert request.status == CardRequest.Status.COMPLETED
    # Closed: the registry may change again; the card's documents do not follow it.
    professional_update(
        professional=request.professional,
        data={"last_name": "Renommée", "address_line1": "2 rue Neuve"},
        by=make_user(Role.ENROLMENT_OFFICER),
    )
    job.refresh_from_db()
    card = Card.objects.get(pk=job.card_id)
    document = card_document_data(card)
    secrets = pin_mailer_secrets(PinMailer.objects.get(card=card))
    for name, pdf in (
        ("face", card_face_pdf(document)),
        ("carrier", carrier_pdf(document)),
        (
            "mailer",
            pin_mailer_pdf(
                document, pin=secrets[0].reveal().decode(), puk=secrets[1].reveal().decode()
            ),
        ),
    ):
        text = _pdf_text(pdf, tmp_path, name)
        assert approved_name in text, name
        assert "Renommée" not in text, name
        assert "2 rue Neuve" not in text, name


def test_an_approval_of_a_snapshot_the_approver_was_not_shown_is_refused(
    pki, station, profiles, users
):
    request = card_request_submit(
        professional=ProfessionalFactory(),
        profile=profiles["hpc-physician"],
        by=users[Role.ENROLMENT_OFFICER],
    )
    with pytest.raises(Conflict, match="the identity you were shown"):
        card_request_approve(
            card_request=request, by=users[Role.APPROVING_OFFICER], identity_sha256="0" * 64
        )
    request.refresh_from_db()
    assert request.status == CardRequest.Status.SUBMITTED
    approved = card_request_approve(
        card_request=request,
        by=users[Role.APPROVING_OFFICER],
        identity_sha256=request.identity_sha256,
    )
    assert approved.approved_identity_sha256 == request.identity_sha256
    event = AuditEvent.objects.for_object(request).get(event=EventType.CARD_REQUEST_APPROVED)
    assert event.payload["identity_sha256"] == request.identity_sha256


def test_the_snapshot_cannot_be_rewritten_in_the_database(approved):
    request = approved()
    forged = dict(request.identity, last_name="Complice")
    with pytest.raises(IntegrityError), transaction.atomic():
        CardRequest.objects.filter(pk=request.pk).update(identity=forged)
    with pytest.raises(IntegrityError), transaction.atomic():
        CardRequest.objects.filter(pk=request.pk).update(identity_sha256="0" * 64)


# --- 3. issue_certificate ---------------------------------------------------------------------


def test_no_command_signs_a_certificate_for_any_key():
    with pytest.raises(CommandError, match="Unknown command: 'issue_certificate'"):
        call_command("issue_certificate", "--help")


def test_revoke_certificate_names_no_other_actor():
    with pytest.raises(CommandError, match="unrecognized arguments: --by"):
        call_command("revoke_certificate", "AB", "--reason", "superseded", "--by", "approver")


# --- 4. the runner trusts the job row ---------------------------------------------------------


def test_a_job_inserted_for_a_request_only_submitted_makes_no_card(pki, station, profiles, users):
    request = card_request_submit(
        professional=ProfessionalFactory(organisation=OrganisationFactory()),
        profile=profiles["hpc-physician"],
        by=users[Role.ENROLMENT_OFFICER],
    )
    job = PersonalizationJob.objects.create(card_request=request, station=station)

    assert job_run(job_id=job.pk, worker="test") is Outcome.FAILED

    job.refresh_from_db()
    request.refresh_from_db()
    assert job.status == PersonalizationJob.Status.FAILED
    assert job.error_code == "ApprovalMismatch"
    assert "not approved" in job.error_message
    assert request.status == CardRequest.Status.SUBMITTED
    assert not Certificate.objects.filter(professional=request.professional).exists()
    assert AuditEvent.objects.filter(
        event=EventType.PERSONALIZATION_JOB_FAILED, object_id=str(job.pk)
    ).exists()


def test_a_request_cannot_be_completed_without_a_decider(pki, station, profiles, users):
    request = card_request_submit(
        professional=ProfessionalFactory(),
        profile=profiles["hpc-physician"],
        by=users[Role.ENROLMENT_OFFICER],
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        CardRequest.objects.filter(pk=request.pk).update(status=CardRequest.Status.COMPLETED)


def test_a_snapshot_rewritten_by_a_dba_makes_no_card(approved):
    """A database administrator drops the trigger and rewrites the approved snapshot: the
    runner's own check (hash approved vs. snapshot carried) fails the job, nothing is issued."""
    request = approved()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("DROP TRIGGER issuance_cardrequest_immutable ON issuance_cardrequest")
        else:
            cursor.execute("DROP TRIGGER issuance_cardrequest_immutable")
    CardRequest.objects.filter(pk=request.pk).update(
        identity=dict(request.identity, last_name="Complice")
    )
    job = _job(request)

    assert job_run(job_id=job.pk, worker="test") is Outcome.FAILED

    job.refresh_from_db()
    assert job.error_code == "ApprovalMismatch"
    assert "does not match the hash that was approved" in job.error_message
    assert not Certificate.objects.filter(professional=request.professional).exists()


def _run_as_worker(job_id: int, stations: list[str], settings) -> str:
    """The task as a worker serving `stations` runs it when a broker delivers it."""
    settings.CARDFORGE_STATIONS = stations
    personalize_card.push_request(hostname="worker@host", id="attack", is_eager=False)
    try:
        return personalize_card.run(job_id)
    finally:
        personalize_card.pop_request()


def test_a_task_for_another_stations_job_is_refused(
    approved, settings, monkeypatch, django_capture_on_commit_callbacks
):
    request = approved()  # queued on bench-1
    job = _job(request)
    station_create(name="bench-2", transport="emulated")

    assert _run_as_worker(job.pk, ["bench-2"], settings) == Outcome.WRONG_STATION.value
    assert _run_as_worker(job.pk, [], settings) == Outcome.WRONG_STATION.value

    job.refresh_from_db()
    assert job.status == PersonalizationJob.Status.WAITING
    assert job.card_id is None
    refusals = AuditEvent.objects.filter(
        event=EventType.PERSONALIZATION_JOB_REFUSED, object_id=str(job.pk)
    )
    assert [event.payload["received_by"] for event in refusals.order_by("sequence")] == [
        "bench-2",
        "(not a station)",
    ]
    # Its own station runs it: up to the signer's step, which its worker hands to the signer's
    # worker; the signer sends it back; the station finishes it.
    station_enrol_here(EncoderStation.objects.get(name="bench-1"))  # its key, its certificate
    to_signer, to_station = [], []
    monkeypatch.setattr(engine, "signer_request_send", to_signer.append)
    monkeypatch.setattr(signer_requests, "personalization_send", to_station.append)
    with django_capture_on_commit_callbacks(execute=True):  # sent once the lease is released
        assert _run_as_worker(job.pk, ["bench-1"], settings) == Outcome.AT_SIGNER.value
    (envelope,) = to_signer
    with django_capture_on_commit_callbacks(execute=True):
        assert sign_job.run(envelope) == "signed"
    assert [sent.pk for sent in to_station] == [job.pk]
    assert _run_as_worker(job.pk, ["bench-1"], settings) == Outcome.DONE.value


# --- 5. submitted_by rewritten; cancelling somebody else's request ----------------------------


def test_the_submitter_cannot_be_rewritten_to_walk_around_four_eyes(pki, station, profiles):
    both = make_user(Role.ENROLMENT_OFFICER)
    both.groups.add(*make_user(Role.APPROVING_OFFICER).groups.all())
    other = make_user(Role.ENROLMENT_OFFICER)
    request = card_request_submit(
        professional=ProfessionalFactory(), profile=profiles["hpc-physician"], by=both
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        CardRequest.objects.filter(pk=request.pk).update(submitted_by=other)
    request.refresh_from_db()
    assert request.submitted_by_id == both.pk


def test_an_officer_cannot_cancel_another_officers_request(pki, station, profiles, users):
    request = card_request_submit(
        professional=ProfessionalFactory(),
        profile=profiles["hpc-physician"],
        by=users[Role.ENROLMENT_OFFICER],
    )
    rival = make_user(Role.ENROLMENT_OFFICER)
    with pytest.raises(NotAllowed, match=f"only {users[Role.ENROLMENT_OFFICER].username}"):
        card_request_cancel(card_request=request, by=rival)
    request.refresh_from_db()
    assert request.status == CardRequest.Status.SUBMITTED
    card_request_cancel(card_request=request, by=users[Role.ENROLMENT_OFFICER])
    request.refresh_from_db()
    assert request.status == CardRequest.Status.CANCELLED
    assert request.cancelled_at <= timezone.now()


def _jpeg(colour: str) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (60, 80), colour).save(buffer, "JPEG")
    return buffer.getvalue()


def test_the_card_shows_the_approved_photo_never_a_later_or_altered_one(approved, users):
    import base64

    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    professional = ProfessionalFactory(organisation=OrganisationFactory())
    approved_bytes = _jpeg("#446688")
    professional.photo.save("approved.jpg", ContentFile(approved_bytes))
    request = approved(professional=professional)
    job = _job(request)
    assert job_run(job_id=job.pk, worker="test") is Outcome.DONE
    job.refresh_from_db()
    card = Card.objects.get(pk=job.card_id)

    # A new photo once the request is closed: the card keeps the approved one.
    professional_update(
        professional=professional,
        data={},
        photo=ContentFile(_jpeg("#aa0000"), name="later.jpg"),
        by=users[Role.ENROLMENT_OFFICER],
    )
    shown = card_document_data(card).photo_data_uri
    assert shown == "data:image/jpeg;base64," + base64.b64encode(approved_bytes).decode()

    # The approved file itself overwritten (someone with storage access): never printed.
    name = request.identity["photo_name"]
    default_storage.delete(name)
    default_storage.save(name, ContentFile(_jpeg("#00aa00")))
    with pytest.raises(Conflict, match="not the one this identity was approved with"):
        card_document_data(card)
