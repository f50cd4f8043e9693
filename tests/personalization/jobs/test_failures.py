"""What happens when things go wrong, in process: a crash at every point of the card dialogue
resumes to one good card; a removed card or a failed quality check fails the job cleanly and
revokes its certificates; leases, station locks, retry, cancel and renewal."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from accounts.roles import Role
from audit.events import EventType
from audit.models import AuditEvent
from audit.selectors import audit_chain_verify
from cardedge.piv import PivClient, Slot
from cardedge.piv.constants import Ins
from cardedge.piv.errors import ManagementKeyAuthenticationFailed
from cardedge.transports import CardRemoved
from cardedge.transports.emulated import EmulatedTransport
from cards.models import Card, CardRequest, PinMailer
from cards.services.card_requests import card_request_submit
from config.errors import Conflict, NotAllowed
from personalization.emulated_cards import emulated_card_open
from personalization.factory import factory_management_key
from personalization.models import EmulatedCard, JobStep, PersonalizationJob
from personalization.runner.engine import Outcome, job_run, step_names
from personalization.services.jobs import job_cancel, job_retry
from pki.models import Certificate
from tests.cards.holder import hand_over_and_activate
from tests.personalization.jobs.faults import Fault, SimulatedCrash, install

pytestmark = pytest.mark.django_db


def _job(request) -> PersonalizationJob:
    return PersonalizationJob.objects.get(card_request=request)


def _age_heartbeat(job: PersonalizationJob) -> None:
    PersonalizationJob.objects.filter(pk=job.pk).update(
        heartbeat_at=timezone.now() - dt.timedelta(hours=1)
    )


def _assert_one_good_card(request) -> Card:
    cards = Card.objects.filter(card_request=request)
    good = cards.filter(status=Card.Status.PERSONALIZED)
    assert good.count() == 1
    card = good.get()
    live = Certificate.objects.for_card(card).valid()
    assert sorted(live.values_list("card_slot", flat=True)) == ["9A", "9C", "9D", "9E"]
    for other in cards.exclude(pk=card.pk):
        assert not Certificate.objects.for_card(other).valid().exists()
    assert audit_chain_verify().intact
    return card


# A crash right after the card carried out the nth command of a kind, at every step that talks
# to the card: management-key auth, PIN change, PUK change, each key generation, the first and
# last object writes, the management-key change, the PIN check and a signature of the quality
# check.
CRASH_POINTS = {  # name: (instruction, its nth occurrence, the step it falls in)
    "identify_card": (Ins.GET_SERIAL, 1, "identify_card"),
    "authenticate": (Ins.GENERAL_AUTHENTICATE, 2, "authenticate"),
    "set_pin": (Ins.CHANGE_REFERENCE_DATA, 1, "set_pin_puk"),
    "set_puk": (Ins.CHANGE_REFERENCE_DATA, 2, "set_pin_puk"),
    "generate_9a": (Ins.GENERATE_ASYMMETRIC_KEY_PAIR, 1, "generate_9a"),
    "generate_9e": (Ins.GENERATE_ASYMMETRIC_KEY_PAIR, 4, "generate_9e"),
    "write_first_certificate": (Ins.PUT_DATA, 1, "write_objects"),
    "write_printed_information": (Ins.PUT_DATA, 9, "write_objects"),
    "rotate_management_key": (Ins.SET_MANAGEMENT_KEY, 1, "rotate_management_key"),
    "quality_check_pin": (Ins.VERIFY, 4, "quality_check"),
    "quality_check_signature": (Ins.GENERAL_AUTHENTICATE, 6, "quality_check"),
}


@pytest.mark.parametrize("card_keeps", ["every change", "recorded steps"])
@pytest.mark.parametrize("point", list(CRASH_POINTS), ids=str)
def test_a_crash_at_any_point_resumes_to_one_good_card(approved, monkeypatch, point, card_keeps):
    """On a card that kept everything it did before the crash (as a physical card does) and on
    one that went back to its last recorded step (an emulated station's card)."""
    request = approved()
    job = _job(request)
    ins, occurrence, step = CRASH_POINTS[point]
    fault = install(monkeypatch, Fault(ins, occurrence), steps=card_keeps == "recorded steps")
    with pytest.raises(SimulatedCrash):
        job_run(job_id=job.pk, worker="dead-worker")
    assert fault.fired
    job.refresh_from_db()
    assert (job.status, job.current_step) == ("running", step)

    # While the dead worker's lease is fresh nobody else takes the job; once stale, one does.
    assert job_run(job_id=job.pk, worker="second") is Outcome.NOT_CLAIMED
    _age_heartbeat(job)
    assert job_run(job_id=job.pk, worker="second") is Outcome.DONE

    job.refresh_from_db()
    assert job.status == "done"
    card = _assert_one_good_card(request)
    assert job.card == card
    assert list(JobStep.objects.filter(job=job).values_list("name", flat=True)) == step_names(job)
    # Resumed after a recorded step; started again when the crash came before the first one.
    again = (
        EventType.PERSONALIZATION_JOB_STARTED
        if step == "identify_card"
        else EventType.PERSONALIZATION_JOB_RESUMED
    )
    assert AuditEvent.objects.filter(event=again, object_id=str(job.pk)).count() == (
        2 if again == EventType.PERSONALIZATION_JOB_STARTED else 1
    )


def test_a_crash_while_identifying_the_card_leaves_no_card_behind(approved, monkeypatch):
    """The blank emulated card and the card row are saved with the step's journal entry: a
    worker killed before leaves neither, and the job resumed makes exactly one of each."""
    request = approved()
    job = _job(request)
    install(monkeypatch, Fault(Ins.GET_SERIAL, 1), steps=True)
    with pytest.raises(SimulatedCrash):
        job_run(job_id=job.pk, worker="dead-worker")
    job.refresh_from_db()
    assert (job.status, job.current_step, job.card_id) == ("running", "identify_card", None)
    assert not Card.objects.filter(card_request=request).exists()
    assert not EmulatedCard.objects.exists()

    _age_heartbeat(job)
    assert job_run(job_id=job.pk, worker="second") is Outcome.DONE
    card = _assert_one_good_card(request)
    assert list(EmulatedCard.objects.all()) == [card.emulated_card]


def test_a_card_removed_mid_job_fails_it_and_revokes_its_certificates(approved, monkeypatch):
    request = approved()
    job = _job(request)
    # Pulled out while the certificates were being written: they are issued already.
    install(monkeypatch, Fault(Ins.PUT_DATA, 2, exception=CardRemoved("the card was removed")))
    assert job_run(job_id=job.pk, worker="w") is Outcome.FAILED

    job.refresh_from_db()
    assert (job.status, job.error_code) == ("failed", "CardRemoved")
    assert job.current_step == "write_objects"
    card = Card.objects.get(card_request=request)
    assert card.status == Card.Status.FAILED
    certificates = Certificate.objects.for_card(card)
    assert certificates.count() == 4
    assert set(certificates.values_list("status", flat=True)) == {"revoked"}
    assert set(certificates.values_list("revocation_reason", flat=True)) == {5}  # cessation
    event = AuditEvent.objects.get(event=EventType.PERSONALIZATION_JOB_FAILED)
    assert event.payload["error"] == "CardRemoved"
    assert sorted(event.payload["revoked"]) == sorted(certificates.values_list("serial", flat=True))
    # Nobody can download the failed card's PIN mailer: its sealed PIN and PUK are not kept.
    assert event.payload["pin_mailer_destroyed"] is True
    mailer = PinMailer.objects.get(card=card)
    assert (mailer.sealed, mailer.downloaded_at) == (None, None)
    request.refresh_from_db()
    assert request.status == CardRequest.Status.APPROVED  # ready for a retry


def test_a_failed_job_retried_makes_a_new_card(approved, monkeypatch, users):
    request = approved()
    job = _job(request)
    install(monkeypatch, Fault(Ins.GENERATE_ASYMMETRIC_KEY_PAIR, 2, exception=CardRemoved("gone")))
    assert job_run(job_id=job.pk, worker="w") is Outcome.FAILED
    monkeypatch.undo()

    with pytest.raises(NotAllowed):
        job_retry(job=job, by=users[Role.AUDITOR])
    job = job_retry(job=job, by=users[Role.ENCODING_OPERATOR])
    assert (job.status, job.attempt, job.card) == ("waiting", 2, None)
    assert job_run(job_id=job.pk, worker="w") is Outcome.DONE
    _assert_one_good_card(request)
    assert Card.objects.filter(card_request=request).count() == 2
    with pytest.raises(Conflict):
        job_retry(job=job, by=users[Role.ENCODING_OPERATOR])


def test_a_card_that_does_not_read_back_is_never_marked_good(approved, monkeypatch):
    request = approved()
    job = _job(request)
    # The CHUID read back in the quality check has one bit of its GUID changed
    # (53 L | 30 19 FASC-N(25) | 34 10 GUID: the GUID starts at offset 31).
    install(
        monkeypatch,
        Fault(Ins.GET_DATA, 1, corrupt_at=35, data_contains=bytes.fromhex("5c035fc102")),
    )
    assert job_run(job_id=job.pk, worker="w") is Outcome.FAILED
    job.refresh_from_db()
    assert job.current_step == "quality_check"
    assert job.error_code == "QualityCheckFailed"
    assert job.error_message == "CHUID did not read back"
    card = Card.objects.get(card_request=request)
    assert card.status == Card.Status.FAILED
    assert not Certificate.objects.for_card(card).valid().exists()


def test_a_worker_that_lost_its_lease_stops_without_touching_the_job(approved, monkeypatch):
    job = _job(approved())
    fault = install(
        monkeypatch, Fault(Ins.GENERATE_ASYMMETRIC_KEY_PAIR, 1, exception=SimulatedCrash)
    )
    with pytest.raises(SimulatedCrash):
        job_run(job_id=job.pk, worker="slow")
    assert fault.fired
    # Another worker took the job over; the slow one comes back and must stop at once.
    PersonalizationJob.objects.filter(pk=job.pk).update(lease_owner="fast")
    monkeypatch.undo()
    assert job_run(job_id=job.pk, worker="slow") is Outcome.NOT_CLAIMED
    job.refresh_from_db()
    assert (job.status, job.lease_owner) == ("running", "fast")


def _stored_card(job: PersonalizationJob) -> PivClient:
    """The job's emulated card as the database holds it."""
    emulated = Card.objects.get(pk=job.card_id).emulated_card
    return PivClient.connect(EmulatedTransport(emulated_card_open(emulated)))


def test_an_emulated_card_killed_mid_step_is_stored_as_its_last_recorded_step(
    approved, monkeypatch
):
    """The runner's card store writes the card with the step records: the management key
    changed by the step the worker died in is not in the database, the certificates written
    by the step before are."""
    job = _job(approved())
    install(monkeypatch, Fault(Ins.SET_MANAGEMENT_KEY, 1), steps=True)
    with pytest.raises(SimulatedCrash):
        job_run(job_id=job.pk, worker="dead-worker")
    job.refresh_from_db()
    assert job.current_step == "rotate_management_key"

    client = _stored_card(job)
    client.authenticate(factory_management_key())  # the change did not outlive the worker
    assert client.read_certificate(Slot.PIV_AUTHENTICATION) is not None

    _age_heartbeat(job)
    monkeypatch.undo()
    assert job_run(job_id=job.pk, worker="second") is Outcome.DONE
    client = _stored_card(job)
    with pytest.raises(ManagementKeyAuthenticationFailed):
        client.authenticate(factory_management_key())


def test_a_worker_that_lost_its_lease_mid_step_cannot_overwrite_the_card(approved, monkeypatch):
    """Worker "slow" is taken for dead after writing the first certificate and "fast" takes the
    job over: what "slow" writes to the card afterwards never reaches the database."""
    job = _job(approved())
    stored = {}

    def taken_over():
        PersonalizationJob.objects.filter(pk=job.pk).update(lease_owner="fast")
        card = PersonalizationJob.objects.select_related("card__emulated_card").get(pk=job.pk).card
        stored["state"] = bytes(card.emulated_card.state)

    install(monkeypatch, Fault(Ins.PUT_DATA, 1, action=taken_over), steps=True)
    assert job_run(job_id=job.pk, worker="slow") is Outcome.LEASE_LOST
    job.refresh_from_db()
    assert (job.status, job.lease_owner, job.current_step) == ("running", "fast", "write_objects")
    assert bytes(job.card.emulated_card.state) == stored["state"]
    assert not JobStep.objects.filter(job=job, name="write_objects").exists()


def test_a_busy_station_sends_the_job_back_to_waiting(approved, station):
    first, second = _job(approved()), _job(approved())
    PersonalizationJob.objects.filter(pk=first.pk).update(
        status="running", heartbeat_at=timezone.now()
    )
    station.busy_job = first
    station.heartbeat_at = timezone.now()
    station.save()
    assert job_run(job_id=second.pk, worker="w") is Outcome.STATION_BUSY
    second.refresh_from_db()
    assert (second.status, second.lease_owner) == ("waiting", "")


def test_cancel_only_waiting_jobs(approved, users):
    job = _job(approved())
    with pytest.raises(NotAllowed):
        job_cancel(job=job, by=users[Role.APPROVING_OFFICER])
    job = job_cancel(job=job, by=users[Role.ENCODING_OPERATOR])
    assert job.status == "cancelled"
    assert job_run(job_id=job.pk, worker="w") is Outcome.NOT_CLAIMED
    with pytest.raises(Conflict):
        job_cancel(job=job, by=users[Role.ENCODING_OPERATOR])


def test_a_renewal_replaces_the_old_card_once_activated_and_revokes_its_certificates(
    approved, users, profiles
):
    first = approved()
    job_run(job_id=_job(first).pk, worker="w")
    old = Card.objects.get(card_request=first, status=Card.Status.PERSONALIZED)
    professional = first.professional

    with pytest.raises(Conflict, match="renewal or a replacement"):
        card_request_submit(
            professional=professional,
            profile=profiles["hpc-physician"],
            by=users[Role.ENROLMENT_OFFICER],
        )
    renewal = approved(reason="renewal", professional=professional)
    assert job_run(job_id=_job(renewal).pk, worker="w") is Outcome.DONE
    new = _assert_one_good_card(renewal)
    old.refresh_from_db()
    assert old.status == Card.Status.PERSONALIZED  # still the holder's until the new one works

    hand_over_and_activate(new, officer=users[Role.ENCODING_OPERATOR])
    old.refresh_from_db()
    assert (old.status, old.revocation_reason) == (Card.Status.REVOKED, "superseded")
    assert set(Certificate.objects.for_card(old).values_list("revocation_reason", flat=True)) == {4}
    # The old card's PIN mailer was never downloaded: its PIN and PUK go with the card.
    assert PinMailer.objects.get(card=old).sealed is None
    revoked = AuditEvent.objects.get(event=EventType.CARD_REVOKED)
    assert revoked.payload["pin_mailer_destroyed"] is True
    assert Card.objects.filter(professional=professional, status="active").get() == new
