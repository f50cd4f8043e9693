"""Revocation through the services: hold, release, revoke; four eyes in the service and the
database; a CRL regenerated after each change; audit events."""

from __future__ import annotations

import pytest
from cryptography import x509
from django.db import IntegrityError, transaction

from accounts.roles import Role
from audit.events import EventType
from audit.models import AuditEvent
from config.errors import Conflict, FourEyesViolation, NotAllowed, ValidationFailed
from pki.models import Certificate, CertificateRevocationList, RevocationRequest
from pki.reasons import RevocationReason
from pki.services.certificates import certificate_issue
from pki.services.revocation import (
    certificate_revoke,
    revocation_request_approve,
    revocation_request_cancel,
    revocation_request_reject,
    revocation_request_submit,
)


@pytest.fixture
def issued(pki, professional, subject_keys) -> Certificate:
    return certificate_issue(
        public_key=subject_keys["ec"].public_key(),
        profile="hp-authentication",
        professional=professional,
    )


@pytest.fixture
def officers(user_with_role):
    return {
        "enrolment": user_with_role(Role.ENROLMENT_OFFICER, "enrolment"),
        "approver": user_with_role(Role.APPROVING_OFFICER, "approver"),
        "admin": user_with_role(Role.ADMINISTRATOR, "admin"),
        "admin2": user_with_role(Role.ADMINISTRATOR, "admin2"),
        "operator": user_with_role(Role.ENCODING_OPERATOR, "operator"),
    }


def _crl_serials(certificate: Certificate) -> dict[int, x509.ReasonFlags | None]:
    crl = x509.load_der_x509_crl(
        bytes(CertificateRevocationList.objects.get(ca=certificate.ca).der)
    )
    found = {}
    for entry in crl:
        try:
            reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
        except x509.ExtensionNotFound:
            reason = None
        found[entry.serial_number] = reason
    return found


def test_hold_release_then_revoke_for_good(issued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        certificate_revoke(certificate=issued, reason="certificateHold")
    issued.refresh_from_db()
    assert issued.status == Certificate.Status.ON_HOLD
    assert issued.revocation_reason == RevocationReason.CERTIFICATE_HOLD
    assert _crl_serials(issued) == {issued.serial_number: x509.ReasonFlags.certificate_hold}

    with django_capture_on_commit_callbacks(execute=True):
        certificate_revoke(certificate=issued, reason="removeFromCRL")
    issued.refresh_from_db()
    assert issued.status == Certificate.Status.VALID
    assert issued.revoked_at is None
    assert issued.crl_entry is None
    # RFC 5280 §5.3.1: a full CRL simply drops a certificate released from hold.
    assert _crl_serials(issued) == {}

    with django_capture_on_commit_callbacks(execute=True):
        certificate_revoke(certificate=issued, reason="keyCompromise")
    issued.refresh_from_db()
    assert issued.status == Certificate.Status.REVOKED
    assert _crl_serials(issued) == {issued.serial_number: x509.ReasonFlags.key_compromise}
    assert Certificate.objects.revoked().filter(pk=issued.pk).exists()
    events = list(AuditEvent.objects.for_object(issued).values_list("event", flat=True))
    assert events == [
        EventType.CERTIFICATE_ISSUED,
        EventType.CERTIFICATE_REVOKED,
        EventType.CERTIFICATE_HOLD_RELEASED,
        EventType.CERTIFICATE_REVOKED,
    ]


def test_revoking_a_held_certificate_keeps_it_listed(issued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        certificate_revoke(certificate=issued, reason="certificateHold")
        certificate_revoke(certificate=issued, reason="superseded")
    issued.refresh_from_db()
    assert issued.status == Certificate.Status.REVOKED
    assert _crl_serials(issued) == {issued.serial_number: x509.ReasonFlags.superseded}


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("keyCompromise", "keyCompromise"),
        ("keyCompromise", "certificateHold"),
        ("keyCompromise", "removeFromCRL"),
        ("certificateHold", "certificateHold"),
        (None, "removeFromCRL"),
    ],
)
def test_impossible_transitions_conflict_and_change_nothing(issued, first, second):
    if first:
        certificate_revoke(certificate=issued, reason=first)
    issued.refresh_from_db()
    before = (issued.status, issued.revocation_reason, AuditEvent.objects.count())
    with pytest.raises(Conflict):
        certificate_revoke(certificate=issued, reason=second)
    issued.refresh_from_db()
    assert (issued.status, issued.revocation_reason, AuditEvent.objects.count()) == before


@pytest.mark.parametrize("reason", ["cACompromise", "aACompromise", "bogus", "7", ""])
def test_reasons_outside_rfc5280_end_entity_codes_are_refused(issued, reason):
    with pytest.raises(ValidationFailed) as caught:
        certificate_revoke(certificate=issued, reason=reason)
    assert caught.value.errors[0].field == "reason"


def test_reason_accepts_names_and_codes():
    assert RevocationReason.parse("keyCompromise") == RevocationReason.KEY_COMPROMISE
    assert RevocationReason.parse("key_compromise") == RevocationReason.KEY_COMPROMISE
    assert RevocationReason.parse("1") == RevocationReason.KEY_COMPROMISE
    assert RevocationReason.parse("REMOVEFROMCRL") == RevocationReason.REMOVE_FROM_CRL


def test_four_eyes_request_and_approval(issued, officers, django_capture_on_commit_callbacks):
    request = revocation_request_submit(
        certificate=issued, reason="affiliationChanged", by=officers["enrolment"], comment="left"
    )
    assert request.status == RevocationRequest.Status.PENDING
    issued.refresh_from_db()
    assert issued.status == Certificate.Status.VALID  # nothing happens before approval

    with django_capture_on_commit_callbacks(execute=True):
        decided = revocation_request_approve(revocation_request=request, by=officers["approver"])
    assert decided.status == RevocationRequest.Status.APPROVED
    issued.refresh_from_db()
    assert issued.status == Certificate.Status.REVOKED
    assert _crl_serials(issued) == {issued.serial_number: x509.ReasonFlags.affiliation_changed}
    revoked_event = (
        AuditEvent.objects.for_object(issued).filter(event=EventType.CERTIFICATE_REVOKED).get()
    )
    assert revoked_event.payload["requested_by"] == "enrolment"
    assert revoked_event.payload["approved_by"] == "approver"
    assert revoked_event.payload["emergency"] is False
    assert revoked_event.actor == "approver"


def test_requester_can_never_approve_not_even_an_administrator(issued, officers):
    request = revocation_request_submit(
        certificate=issued, reason="keyCompromise", by=officers["admin"]
    )
    for decide in (revocation_request_approve, revocation_request_reject):
        with pytest.raises(FourEyesViolation):
            decide(revocation_request=request, by=officers["admin"])
    request.refresh_from_db()
    issued.refresh_from_db()
    assert request.status == RevocationRequest.Status.PENDING
    assert issued.status == Certificate.Status.VALID
    revocation_request_approve(revocation_request=request, by=officers["admin2"])
    issued.refresh_from_db()
    assert issued.status == Certificate.Status.REVOKED


def test_database_refuses_self_approval(issued, officers):
    request = revocation_request_submit(
        certificate=issued, reason="keyCompromise", by=officers["enrolment"]
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        RevocationRequest.objects.filter(pk=request.pk).update(
            status="approved", decided_by=officers["enrolment"], decided_at=request.requested_at
        )


def test_database_refuses_a_second_pending_request(issued, officers):
    revocation_request_submit(certificate=issued, reason="keyCompromise", by=officers["enrolment"])
    with pytest.raises(Conflict):
        revocation_request_submit(certificate=issued, reason="superseded", by=officers["admin"])
    with pytest.raises(IntegrityError), transaction.atomic():
        RevocationRequest.objects.create(
            certificate=issued,
            reason=4,
            requested_by=officers["admin"],
            requested_at=issued.issued_at,
        )


def test_database_refuses_revoked_without_time_or_reason(issued):
    with pytest.raises(IntegrityError), transaction.atomic():
        Certificate.objects.filter(pk=issued.pk).update(status="revoked")


def test_roles_without_permission_are_refused_by_the_service(issued, officers):
    with pytest.raises(NotAllowed):
        revocation_request_submit(
            certificate=issued, reason="keyCompromise", by=officers["approver"]
        )
    request = revocation_request_submit(
        certificate=issued, reason="keyCompromise", by=officers["enrolment"]
    )
    with pytest.raises(NotAllowed):
        revocation_request_approve(revocation_request=request, by=officers["operator"])


def test_reject_and_cancel(issued, officers):
    request = revocation_request_submit(
        certificate=issued, reason="keyCompromise", by=officers["enrolment"]
    )
    revocation_request_reject(revocation_request=request, by=officers["approver"], comment="no")
    request.refresh_from_db()
    assert request.status == RevocationRequest.Status.REJECTED
    with pytest.raises(Conflict):
        revocation_request_approve(revocation_request=request, by=officers["admin"])

    second = revocation_request_submit(
        certificate=issued, reason="superseded", by=officers["enrolment"]
    )
    with pytest.raises(NotAllowed):
        revocation_request_cancel(revocation_request=second, by=officers["approver"])
    revocation_request_cancel(revocation_request=second, by=officers["enrolment"])
    second.refresh_from_db()
    assert second.status == RevocationRequest.Status.CANCELLED
    issued.refresh_from_db()
    assert issued.status == Certificate.Status.VALID
    codes = set(AuditEvent.objects.values_list("event", flat=True))
    assert {
        EventType.CERTIFICATE_REVOCATION_REQUESTED,
        EventType.REVOCATION_REQUEST_REJECTED,
        EventType.REVOCATION_REQUEST_CANCELLED,
    } <= codes


def test_approval_fails_cleanly_when_already_revoked(issued, officers):
    request = revocation_request_submit(
        certificate=issued, reason="superseded", by=officers["enrolment"]
    )
    certificate_revoke(certificate=issued, reason="keyCompromise", emergency=True)
    with pytest.raises(Conflict):
        revocation_request_approve(revocation_request=request, by=officers["approver"])
    request.refresh_from_db()
    assert request.status == RevocationRequest.Status.PENDING


def test_a_burst_of_revocations_on_commit_makes_one_crl(
    pki, professional, subject_keys, django_capture_on_commit_callbacks
):
    before = CertificateRevocationList.objects.get(ca=pki.software.authentication).number
    certificates = [
        certificate_issue(
            public_key=subject_keys["ec"].public_key(),
            profile="hp-authentication",
            professional=professional,
        )
        for _ in range(3)
    ]
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        for certificate in certificates:
            certificate_revoke(certificate=certificate, reason="cessationOfOperation")
    crl = CertificateRevocationList.objects.get(ca=pki.software.authentication)
    assert crl.number == before + 1
    assert crl.entries == 3
