"""How cards meets the apps around it: an approval hands over to personalization through a hook
registered at start-up, and a moved model keeps its history."""

from __future__ import annotations

import pytest
from django.core.checks import run_checks
from django.db import transaction

from accounts.roles import Role
from audit.events import EventType
from audit.models import AuditEvent
from audit.selectors import audit_event_list
from audit.services import audit_record
from cards import approvals
from cards.models import CardRequest
from cards.services.card_requests import card_request_approve, card_request_submit
from personalization.models import PersonalizationJob
from personalization.services.jobs import job_create_on_approval
from personalization.services.stations import station_ensure

pytestmark = pytest.mark.django_db


@pytest.fixture
def submitted(profiles, professional, users):
    return card_request_submit(
        professional=professional,
        profile=profiles["hpc-physician"],
        by=users[Role.ENROLMENT_OFFICER],
    )


def test_personalization_registers_the_job_creation_at_start_up():
    assert job_create_on_approval in approvals.approval_hooks()


def test_an_approval_makes_the_job_of_the_station_taking_approved_requests(submitted, users):
    station_ensure(name="desk", transport="emulated", takes_approved_requests=True)
    card_request_approve(card_request=submitted, by=users[Role.APPROVING_OFFICER])
    job = PersonalizationJob.objects.get(card_request=submitted)
    assert job.station.name == "desk"


def test_a_failing_hook_takes_the_approval_back_with_it(submitted, users, monkeypatch):
    """The job exists if and only if the approval does: one transaction."""

    def broken(*, card_request, by, batch):
        raise RuntimeError("the job could not be made")

    monkeypatch.setattr(approvals, "_hooks", [*approvals._hooks, broken])
    with pytest.raises(RuntimeError, match="could not be made"):
        card_request_approve(card_request=submitted, by=users[Role.APPROVING_OFFICER])
    submitted.refresh_from_db()
    assert submitted.status == CardRequest.Status.SUBMITTED
    assert submitted.decided_by is None
    assert not AuditEvent.objects.filter(event=EventType.CARD_REQUEST_APPROVED).exists()


def test_a_project_where_nothing_acts_on_an_approval_does_not_pass_its_checks(monkeypatch):
    monkeypatch.setattr(approvals, "_hooks", [])
    errors = [message.id for message in run_checks()]
    assert "cards.E001" in errors
    monkeypatch.undo()
    assert "cards.E001" not in [message.id for message in run_checks()]


def test_events_written_under_a_former_label_stay_in_the_requests_history(submitted):
    """Before the move a card request was `issuance.cardrequest`; its events keep that label
    (they are chained, never rewritten) and still show as its history."""
    with transaction.atomic():
        audit_record(
            event=EventType.CARD_REQUEST_SUBMITTED,
            object_type="issuance.cardrequest",
            object_id=str(submitted.pk),
            payload={"written": "before the move"},
        )
    history = AuditEvent.objects.for_object(submitted).order_by("sequence")
    assert [event.object_type for event in history] == ["cards.cardrequest", "issuance.cardrequest"]
    by_type = {event.object_type for event in audit_event_list(object_type="cards.cardrequest")}
    assert by_type == {"cards.cardrequest", "issuance.cardrequest"}
    by_former = audit_event_list(object_type="issuance.cardrequest", object_id=str(submitted.pk))
    assert by_former.count() == 2
