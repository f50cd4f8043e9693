"""Each section of the report over a fixture period, its totals checked against the database
and the audit trail (tests/reports/conftest.py, `period`)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection, transaction
from django.utils import timezone

from accounts.roles import Role
from audit.events import EventType
from audit.models import AuditEvent
from audit.services import audit_record
from cards.models import Card, CardRequest
from pki.models import Certificate
from pki.services.audit_checkpoints import audit_checkpoint_write
from reports.figures import Parameters, report_figures

pytestmark = pytest.mark.django_db


def _today() -> Parameters:
    today = timezone.localdate()
    return Parameters(start=today, end=today)


def _events(event: EventType) -> int:
    return AuditEvent.objects.filter(event=event).count()


def test_activity_counts_what_the_audit_trail_recorded(period):
    figures = report_figures(_today())
    by_day = figures.table("activity_by_day")
    assert by_day.rows == [
        [
            timezone.localdate().isoformat(),
            _events(EventType.CARD_REQUEST_SUBMITTED),
            _events(EventType.CARD_REQUEST_APPROVED),
            _events(EventType.CARD_REQUEST_REJECTED),
            _events(EventType.CARD_PERSONALIZED),
        ]
    ]
    assert by_day.rows[0][1:] == [6, 4, 1, 3]
    assert figures.table("cards_by_profile").rows == [["hpc-physician", 3]]
    assert figures.table("cards_by_station").rows == [["desk-1", 3]]


def test_a_day_with_nothing_has_its_row_of_zeros(period):
    today = timezone.localdate()
    figures = report_figures(Parameters(start=today - dt.timedelta(days=2), end=today))
    rows = figures.table("activity_by_day").rows
    assert [row[0] for row in rows] == [
        (today - dt.timedelta(days=n)).isoformat() for n in (2, 1, 0)
    ]
    assert rows[0][1:] == rows[1][1:] == [0, 0, 0, 0]


def test_inventory_counts_cards_by_state_and_expiry(period):
    figures = report_figures(_today())
    states = dict(figures.table("cards_by_state").rows)
    for value, label in Card.Status.choices:
        assert states[label] == Card.objects.filter(status=value).count()
    assert (states["Personalized"], states["Revoked"], states["Personalization failed"]) == (
        2,
        1,
        0,
    )
    # The profile's cards live three years: none expires within 90 days; one made to expire soon.
    assert figures.table("cards_expiring").rows == [["30 days", 0], ["60 days", 0], ["90 days", 0]]
    Card.objects.filter(pk=period.personalized[1].pk).update(
        expires_at=timezone.now() + dt.timedelta(days=45)
    )
    assert report_figures(_today()).table("cards_expiring").rows == [
        ["30 days", 0],
        ["60 days", 1],
        ["90 days", 1],
    ]


def test_certificates_issued_and_revoked_per_ca_profile_and_reason(period):
    figures = report_figures(_today())
    issued = {
        (ca, profile): count for ca, profile, count in figures.table("certificates_issued").rows
    }
    for (ca, profile), count in issued.items():
        assert count == Certificate.objects.filter(ca__slug=ca, profile=profile).count()
    assert issued[("qualified-signature", "hp-qualified-signature")] == 3  # one per card
    assert issued[("authentication", "hp-authentication")] == 3
    revoked = Certificate.objects.filter(revoked_at__isnull=False)
    assert figures.table("certificates_revoked").total("Revoked or on hold") == revoked.count() == 4
    # The stolen card's four certificates, each with the reason its card's revocation maps to.
    reasons = dict(figures.table("revocations_by_reason").rows)
    assert sum(reasons.values()) == 4
    for label, count in reasons.items():
        assert count == sum(1 for c in revoked if c.get_revocation_reason_display() == label)


def test_dual_control_lists_every_decision_and_states_there_is_no_self_approval(period, users):
    figures = report_figures(_today())
    approvals = figures.table("approvals").rows
    assert len(approvals) == 5  # four approvals and one rejection
    officer, approver = (
        users[Role.ENROLMENT_OFFICER].username,
        users[Role.APPROVING_OFFICER].username,
    )
    assert {(row[3], row[4], row[5]) for row in approvals} == {
        (officer, approver, "approved"),
        (officer, approver, "rejected"),
    }
    self_approvals = figures.table("self_approvals")
    assert self_approvals.rows == []
    assert "No self-approval exists in the period" in self_approvals.note
    emergencies = figures.table("emergency_actions").rows
    assert [(row[1], row[2], row[3]) for row in emergencies] == [
        ("Card revoked", f"cards.card {period.revoked.pk}", users[Role.ADMINISTRATOR].username)
    ]
    assert emergencies[0][4] == "stolen"


@pytest.mark.postgres
def test_a_self_approval_forced_into_the_database_is_listed(period):
    """The service and the database's CHECK forbid deciding one's own request; a database
    administrator who drops the guards can still write one, and the report then lists it."""
    table = CardRequest._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'c'",
            [table],
        )
        for (name,) in cursor.fetchall():
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        cursor.execute(
            f"UPDATE {table} SET decided_by_id = submitted_by_id WHERE id = %s",
            [period.rejected.pk],
        )
    listed = report_figures(_today()).table("self_approvals")
    assert [row[2] for row in listed.rows] == [
        f"#{period.rejected.pk} {period.rejected.professional.rpps}"
    ]
    assert "1 decisions were made by the person who asked" in listed.note


def test_operations_counts_failed_jobs_by_error_and_each_station(period):
    figures = report_figures(_today())
    assert figures.table("failed_jobs_by_error").rows == [["CardError", 1]]
    (station,) = figures.table("stations").rows
    assert station[:5] == ["desk-1", 4, 3, 1, "75 %"]
    assert station[5] == "yes"


def test_integrity_names_the_checkpoints_that_cover_the_period(period):
    first = audit_checkpoint_write(force=True)
    with transaction.atomic():
        audit_record(event=EventType.USER_LOGGED_IN)
    figures = report_figures(_today())
    section = figures.sections[-1]
    summary = dict(section.summary)
    assert summary["Verification of the whole trail"] == "intact"
    assert summary["Signed checkpoints verified"] == "1"
    events = AuditEvent.objects.order_by("sequence")
    assert (
        summary["First event of the period"] == f"{events.first().sequence} ({events.first().hash})"
    )
    assert summary["Last event of the period"] == f"{events.last().sequence} ({events.last().hash})"
    assert figures.table("checkpoints").rows[0][:2] == [first.sequence, first.head_hash]
    assert "not anchored by a signed checkpoint yet" in figures.table("checkpoints").note
    assert figures.events_in_period[:2] == (events.first().sequence, events.last().sequence)


def test_filters_narrow_every_section_to_an_organisation_or_a_station(period):
    today = timezone.localdate()
    other = report_figures(
        Parameters(start=today, end=today, organisation=period.other_organisation)
    )
    assert other.table("activity_by_day").rows[0][1:] == [1, 1, 0, 1]
    assert dict(other.table("cards_by_state").rows)["Personalized"] == 1
    assert other.table("failed_jobs_by_error").rows == []
    assert len(other.table("approvals").rows) == 1
    station = report_figures(Parameters(start=today, end=today, station=period.station))
    assert station.table("cards_by_station").rows == [["desk-1", 3]]
    assert station.table("activity_by_day").rows[0][4] == 3
