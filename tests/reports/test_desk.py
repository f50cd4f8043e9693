"""Asking for reports and getting them: the API, the auditor's dashboard and
`manage.py audit_report`."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.roles import Role
from audit.events import EventType
from audit.models import AuditEvent
from reports.models import AuditReport
from tests.factories import sign_in_verified

pytestmark = pytest.mark.django_db


def _today() -> str:
    return timezone.localdate().isoformat()


def test_an_auditor_asks_for_a_report_over_the_api_and_downloads_it(
    period, api, users, django_capture_on_commit_callbacks
):
    client = api.as_user(users[Role.AUDITOR])
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(
            "/api/v1/reports/",
            {"start": _today(), "end": _today(), "station": "desk-1"},
            format="json",
        )
    assert answer.status_code == 202
    assert answer.json()["status"] == "queued"
    report = client.get(f"/api/v1/reports/{answer.json()['id']}/").json()
    assert (report["status"], report["progress"], report["station"]) == ("ready", 100, "desk-1")
    pdf = client.get(report["pdf_url"])
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    tables = client.get(report["csv_url"])
    assert tables["Content-Type"] == "application/zip"
    downloads = AuditEvent.objects.filter(event=EventType.REPORT_DOWNLOADED)
    assert [event.payload["what"] for event in downloads] == ["pdf", "csv"]
    assert downloads.first().actor == users[Role.AUDITOR].username
    ready = AuditEvent.objects.get(event=EventType.REPORT_READY)
    assert ready.payload["pdf_sha256"] == report["pdf_sha256"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"start": "2026-03-10", "end": "2026-03-01"}, "end"),
        ({"start": "3026-01-01", "end": "3026-01-02"}, "start"),
        ({"start": "2026-13-01", "end": "2026-03-01"}, "start"),
        ({"start": "2016-01-01", "end": "2026-03-01"}, "end"),
        ({"start": "2026-03-01", "end": "2026-03-01", "station": "nowhere"}, "station"),
        ({"start": "2026-03-01", "end": "2026-03-01", "profile": "nope"}, "profile"),
    ],
)
def test_a_bad_report_request_names_its_field_and_makes_nothing(pki, api, users, body, field):
    answer = api.as_user(users[Role.AUDITOR]).post("/api/v1/reports/", body, format="json")
    assert answer.status_code == 400
    assert field in {error["field"] for error in answer.json()["errors"]}
    assert not AuditReport.objects.exists()


@pytest.mark.parametrize(
    "role", [Role.ENROLMENT_OFFICER, Role.APPROVING_OFFICER, Role.ENCODING_OPERATOR]
)
def test_only_auditors_and_administrators_see_or_ask_for_reports(pki, api, users, role):
    client = api.as_user(users[role])
    assert client.get("/api/v1/reports/").status_code == 403
    body = {"start": _today(), "end": _today()}
    assert client.post("/api/v1/reports/", body, format="json").status_code == 403
    assert not AuditReport.objects.exists()


def test_a_report_not_ready_yet_cannot_be_downloaded(pki, api, users):
    client = api.as_user(users[Role.ADMINISTRATOR])
    answer = client.post("/api/v1/reports/", {"start": _today(), "end": _today()}, format="json")
    assert answer.status_code == 202  # queued: its build waits for the commit
    download = client.get(f"/api/v1/reports/{answer.json()['id']}/report.pdf")
    assert download.status_code == 409
    assert "queued" in download.json()["message"]


def test_the_auditor_dashboard_shows_the_period_then_makes_the_signed_report(
    period, client, users, django_capture_on_commit_callbacks
):
    sign_in_verified(client, users[Role.AUDITOR])
    page = client.get("/reports/", {"start": _today(), "end": _today()})
    assert page.status_code == 200
    html = page.content.decode()
    assert "Audit trail intact" in html
    assert 'id="table-activity_by_day"' in html
    assert "<svg" in html  # the charts
    with django_capture_on_commit_callbacks(execute=True):
        made = client.post("/reports/new/", {"start": _today(), "end": _today()})
    report = AuditReport.objects.get()
    assert made.status_code == 302
    assert made["Location"] == f"/reports/{report.pk}/"
    detail = client.get(made["Location"]).content.decode()
    assert "Ready: built and signed by the platform." in detail
    assert client.get(f"/reports/{report.pk}/report.pdf").content.startswith(b"%PDF")


def test_a_bad_period_on_the_dashboard_is_said_next_to_its_field(pki, client, users):
    sign_in_verified(client, users[Role.AUDITOR])
    start = timezone.localdate()
    end = start - dt.timedelta(days=3)
    answer = client.post("/reports/new/", {"start": start.isoformat(), "end": end.isoformat()})
    assert answer.status_code == 400
    assert "The end must not be before the start." in answer.content.decode()
    assert not AuditReport.objects.exists()


def test_the_command_writes_the_signed_pdf_and_the_tables(period, tmp_path, capsys):
    out, tables = tmp_path / "report.pdf", tmp_path / "tables.zip"
    call_command(
        "audit_report",
        "--from",
        _today(),
        "--to",
        _today(),
        "--out",
        str(out),
        "--csv",
        str(tables),
        "--organisation",
        str(period.other_organisation.pk),
        "--no-progress",
    )
    report = AuditReport.objects.get()
    assert f"written to {out} and {tables}" in capsys.readouterr().out
    assert out.read_bytes() == bytes(report.pdf)
    assert b"/ByteRange" in out.read_bytes()  # signed
    assert tables.read_bytes()[:2] == b"PK"
    assert report.organisation == period.other_organisation
    assert report.requested_by is None  # the console


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--from", "yesterday", "--to", "2026-01-01"], "--from: 'yesterday' is not a date"),
        (["--from", "2026-02-01", "--to", "2026-01-01"], "end: must not be before the start"),
        (["--from", "2026-01-01", "--to", "2026-01-02", "--station", "x"], "--station: no station"),
    ],
)
def test_the_command_refuses_bad_arguments_by_name(pki, tmp_path, arguments, message):
    with pytest.raises(CommandError, match=message):
        call_command("audit_report", *arguments, "--out", str(tmp_path / "r.pdf"))
    assert not AuditReport.objects.exists()
