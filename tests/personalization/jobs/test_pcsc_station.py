"""The runner on a PC/SC station (pyscard → private pcscd → vpcd → `manage.py emulate_card`), in
this process: a card pulled out mid-job, pcscd restarting, another card in the reader when a job
resumes, an issued card left in the reader."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from audit.events import EventType
from audit.models import AuditEvent
from audit.selectors import audit_chain_verify
from cardedge.piv import PivClient, Slot
from cardedge.transports.pcsc import PcscTransport
from cards.models import Card
from cards.services.secrets import pin_mailer_secrets
from personalization.factory import factory_management_key, factory_pin
from personalization.models import EncoderStation, PersonalizationJob
from personalization.runner.engine import Outcome, job_run
from personalization.services.stations import station_create
from pki.models import Certificate
from tests.personalization.jobs.cues import SimulatedCrash

pytestmark = [pytest.mark.pcsc, pytest.mark.django_db]


@pytest.fixture
def pcsc_station(station, second_reader) -> EncoderStation:
    """A PC/SC station on the second reader; approved requests are queued there."""
    return station_create(
        name="reader-two",
        transport="pcsc",
        reader_pattern=second_reader.name,
        takes_approved_requests=True,
    )


def _job(request) -> PersonalizationJob:
    return PersonalizationJob.objects.get(card_request=request)


def _blank_card(second_reader, tmp_path, serial: int):
    return second_reader.insert(
        "--state", str(tmp_path / f"card-{serial}.json"), "--serial", str(serial)
    )


def _assert_failed_and_revoked(job: PersonalizationJob, error_code: str) -> Card:
    job.refresh_from_db()
    assert (job.status, job.error_code) == ("failed", error_code), job.error_message
    card = job.card
    assert card.status == Card.Status.FAILED
    certificates = list(Certificate.objects.for_card(card))
    assert {c.card_slot for c in certificates} == {"9A", "9C", "9D", "9E"}
    assert {c.status for c in certificates} == {Certificate.Status.REVOKED}
    failed = AuditEvent.objects.get(
        event=EventType.PERSONALIZATION_JOB_FAILED, object_id=str(job.pk)
    )
    assert sorted(failed.payload["revoked"]) == sorted(c.serial for c in certificates)
    assert failed.payload["error"] == error_code
    job.station.refresh_from_db()
    assert job.station.busy_job_id is None
    assert audit_chain_verify().intact
    return card


def test_a_card_pulled_out_mid_job_fails_the_job_and_revokes_its_certificates(
    approved, pcsc_station, second_reader, tmp_path, cue
):
    job = _job(approved())
    card_process = _blank_card(second_reader, tmp_path, 31000001)
    # Out it goes as the first certificate is being written, after all four were issued.
    cue("write_objects", card_process.stop, before=True)

    assert job_run(job_id=job.pk, worker="station") is Outcome.FAILED

    card = _assert_failed_and_revoked(job, "CardRemoved")
    assert card.chip_serial == "31000001"
    assert "removed" in job.error_message


def test_a_job_resumed_with_another_card_in_the_reader_fails_without_touching_that_card(
    approved, pcsc_station, second_reader, tmp_path, cue
):
    job = _job(approved())
    _blank_card(second_reader, tmp_path, 32000001)
    cue("write_objects", before=True)
    with pytest.raises(SimulatedCrash):  # the worker dies with four certificates issued
        job_run(job_id=job.pk, worker="dies")

    # While nobody was looking, someone swapped the card for another blank one.
    _blank_card(second_reader, tmp_path, 32000002)
    PersonalizationJob.objects.filter(pk=job.pk).update(
        heartbeat_at=timezone.now() - dt.timedelta(hours=1)
    )
    assert job_run(job_id=job.pk, worker="resumes") is Outcome.FAILED

    _assert_failed_and_revoked(job, "WrongCard")
    assert "32000002" in job.error_message
    # The other card is as blank as it came: factory PIN and management key, no certificate.
    transport = PcscTransport(second_reader.name)
    try:
        client = PivClient.connect(transport)
        assert client.get_serial() == 32000002
        client.authenticate(factory_management_key())
        client.verify_pin(factory_pin())
        assert all(
            client.read_certificate(slot) is None
            for slot in (
                Slot.PIV_AUTHENTICATION,
                Slot.DIGITAL_SIGNATURE,
                Slot.KEY_MANAGEMENT,
                Slot.CARD_AUTHENTICATION,
            )
        )
    finally:
        transport.disconnect()


def test_a_card_already_issued_left_in_the_reader_is_not_personalized_again(
    approved, pcsc_station, second_reader, tmp_path
):
    first, second = _job(approved()), _job(approved())
    _blank_card(second_reader, tmp_path, 33000001)
    assert job_run(job_id=first.pk, worker="station") is Outcome.DONE
    first.refresh_from_db()
    issued = first.card

    # The operator forgot to take it out; the next job must not start on it.
    assert job_run(job_id=second.pk, worker="station") is Outcome.FAILED
    second.refresh_from_db()
    assert second.error_code == "WrongCard"
    assert f"is card {issued.serial}, personalized" in second.error_message
    assert second.card is None
    assert Card.objects.filter(chip_serial="33000001").get() == issued

    # The issued card still works with its own PIN and still holds its own certificates.
    pin, _ = pin_mailer_secrets(issued.pin_mailer)
    expected = Certificate.objects.for_card(issued).get(card_slot="9A")
    transport = PcscTransport(second_reader.name)
    try:
        client = PivClient.connect(transport)
        client.verify_pin(pin)
        on_card = client.read_certificate(Slot.PIV_AUTHENTICATION)
        assert on_card.serial_number == int(expected.serial, 16)
    finally:
        transport.disconnect()


def test_pcscd_restarting_mid_job_fails_the_job_cleanly(
    approved, pcsc_station, second_reader, tmp_path, cue, pcsc_harness
):
    job = _job(approved())
    _blank_card(second_reader, tmp_path, 34000001)
    cue("write_objects", pcsc_harness.pcscd.restart, before=True)
    try:
        assert job_run(job_id=job.pk, worker="station") is Outcome.FAILED
    finally:
        # Both cards find the new pcscd by themselves.
        pcsc_harness.pcscd.wait_for_card(0)
        pcsc_harness.pcscd.wait_for_card(1)

    _assert_failed_and_revoked(job, "PcscUnavailable")
    assert job.error_message.startswith("transmit: pcscd is not running")


def test_a_job_on_a_card_without_a_serial_is_not_resumed_blindly(
    approved, pcsc_station, second_reader, tmp_path, cue
):
    job = _job(approved())
    # A plain PIV card: no Yubico GET SERIAL, so nothing tells it from another blank card.
    second_reader.insert("--state", str(tmp_path / "plain.json"), "--plain-piv")
    cue("generate_9a")
    with pytest.raises(SimulatedCrash):
        job_run(job_id=job.pk, worker="dies")
    job.refresh_from_db()
    assert job.card.chip_serial == ""

    PersonalizationJob.objects.filter(pk=job.pk).update(
        heartbeat_at=timezone.now() - dt.timedelta(hours=1)
    )
    assert job_run(job_id=job.pk, worker="resumes") is Outcome.FAILED
    job.refresh_from_db()
    assert job.error_code == "WrongCard"
    assert "has no chip serial on record" in job.error_message
    assert job.card.status == Card.Status.FAILED
