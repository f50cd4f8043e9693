"""`bootstrap_demo` sets up a working demo once and changes nothing when run again."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from accounts.roles import Role
from audit.events import EventType
from audit.models import AuditEvent
from audit.selectors import audit_chain_verify
from cardprofiles.models import CardProfileVersion
from issuance.models import Professional
from personalization.models import EncoderStation
from pki.models import CertificateAuthority

pytestmark = pytest.mark.django_db


def test_bootstrap_demo_is_idempotent_and_prints_passwords_once():
    first = StringIO()
    call_command("bootstrap_demo", stdout=first)
    users = get_user_model().objects.count()
    counts = (
        users,
        Professional.objects.count(),
        CardProfileVersion.objects.count(),
        CertificateAuthority.objects.count(),
        EncoderStation.objects.count(),
    )
    events = AuditEvent.objects.count()
    assert users == len(Role)
    assert CertificateAuthority.objects.count() == 3
    station = EncoderStation.objects.get(name="demo")
    assert (station.transport, station.takes_approved_requests) == ("emulated", True)
    assert station.is_enabled
    enrolment = get_user_model().objects.get(username="enrolment")
    assert enrolment.groups.filter(name=Role.ENROLMENT_OFFICER.value).exists()
    password = next(
        line.split()[-1] for line in first.getvalue().splitlines() if " enrolment " in line
    )
    assert enrolment.check_password(password)
    assert "enrol an authenticator app" in first.getvalue()

    second = StringIO()
    call_command("bootstrap_demo", stdout=second)
    assert (
        get_user_model().objects.count(),
        Professional.objects.count(),
        CardProfileVersion.objects.count(),
        CertificateAuthority.objects.count(),
        EncoderStation.objects.count(),
    ) == counts
    assert AuditEvent.objects.count() == events
    assert password not in second.getvalue()
    assert audit_chain_verify().intact


def test_bootstrap_grants_are_audited_as_such():
    call_command("bootstrap_demo", stdout=StringIO())
    grants = AuditEvent.objects.filter(event=EventType.USER_ROLE_BOOTSTRAP_GRANTED)
    assert sorted((event.payload["username"], event.payload["role"]) for event in grants) == [
        ("admin", "administrator"),
        ("approver", "approving officer"),
        ("auditor", "auditor"),
        ("encoder", "encoding operator"),
        ("enrolment", "enrolment officer"),
    ]
    assert {event.actor for event in grants} == {""}  # a setup command, not an administrator
    assert get_user_model().objects.get(username="admin").is_staff


def test_the_demo_station_gets_the_virtual_printer_make_run_starts():
    uri = "ipp://localhost:8631/ipp/print"
    out = StringIO()
    call_command("bootstrap_demo", "--printer-uri", uri, stdout=out)
    assert f"encoder station demo prints card faces on {uri}" in out.getvalue()
    assert EncoderStation.objects.get(name="demo").printer_uri == uri
    event = AuditEvent.objects.filter(event=EventType.STATION_UPDATED).get()
    assert event.actor == "admin"
    assert event.payload["changed"] == {"printer_uri": {"from": "", "to": uri}}
    again = StringIO()
    call_command("bootstrap_demo", "--printer-uri", uri, stdout=again)
    assert "prints card faces" not in again.getvalue()
    assert AuditEvent.objects.filter(event=EventType.STATION_UPDATED).count() == 1
