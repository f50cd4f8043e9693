"""CSV enrolment: all-or-nothing, bad rows named by line and column, idempotent, tolerant of
the encodings and separators registry exports come in."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from accounts.roles import Role
from audit.events import EventType
from audit.models import AuditEvent
from audit.selectors import audit_chain_verify
from issuance.models import Professional
from issuance.services.imports import ImportFileError, professionals_import
from tests.factories import OrganisationFactory, valid_rpps

pytestmark = pytest.mark.django_db

HEADER = "rpps,last_name,first_name,profession,email"
R1, R2, R3 = valid_rpps(9001), valid_rpps(9002), valid_rpps(9003)


def _csv(*rows: str, header: str = HEADER, newline: str = "\n") -> bytes:
    return newline.join([header, *rows, ""]).encode("utf-8")


def _run_command(tmp_path, content: bytes, *args) -> tuple[int, str, str]:
    path = tmp_path / "professionals.csv"
    path.write_bytes(content)
    from io import StringIO

    out, err = StringIO(), StringIO()
    try:
        call_command(
            "import_professionals", str(path), *args, "--no-progress", stdout=out, stderr=err
        )
    except CommandError as error:
        return error.returncode, out.getvalue(), err.getvalue() + str(error)
    return 0, out.getvalue(), err.getvalue()


def test_valid_file_enrols_everyone_with_one_audit_event_each(tmp_path):
    content = _csv(
        f"{R1},Dupont,Jean,10,jean@example.org",
        f"{R2},Lefèvre,Éloïse,pharmacist,eloise@example.org",
    )
    code, out, _ = _run_command(tmp_path, content)
    assert code == 0
    assert "2 rows: 2 were created" in out
    assert Professional.objects.get(rpps=R2).first_name == "Éloïse"
    assert AuditEvent.objects.filter(event=EventType.PROFESSIONAL_CREATED).count() == 2
    summary = AuditEvent.objects.get(event=EventType.PROFESSIONALS_IMPORTED)
    assert summary.payload["created"] == 2
    assert audit_chain_verify().intact


def test_one_bad_row_means_nothing_is_written_and_every_bad_row_is_named(tmp_path):
    content = _csv(
        f"{R1},Dupont,Jean,10,jean@example.org",
        "12345678901,Martin,Paul,10,paul@example.org",  # Luhn fails
        f"{R2},,Anne,10,anne@example.org",  # no last name
        f"{R3},Roux,Léa,surgeon,not-an-email",  # two problems on one row
    )
    code, _, err = _run_command(tmp_path, content)
    assert code == 1
    assert "line 3, column rpps: RPPS number check digit is wrong" in err
    assert "line 4, column last_name: is required" in err
    assert "line 5, column profession: unknown profession 'surgeon'" in err
    assert "line 5, column email: 'not-an-email' is not a valid email address" in err
    assert "nothing was imported" in err
    assert Professional.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_skip_invalid_writes_the_valid_rows_and_reports_the_rest(tmp_path):
    content = _csv(f"{R1},Dupont,Jean,10,jean@example.org", "123,Martin,Paul,10,paul@example.org")
    code, out, err = _run_command(tmp_path, content, "--skip-invalid")
    assert code == 1  # invalid rows are still a failure worth a non-zero exit
    assert "2 rows: 1 were created, 0 were updated, 0 unchanged, 1 invalid" in out
    assert "line 3, column rpps" in err
    assert list(Professional.objects.values_list("rpps", flat=True)) == [R1]


def test_dry_run_writes_nothing(tmp_path):
    code, out, _ = _run_command(
        tmp_path, _csv(f"{R1},Dupont,Jean,10,jean@example.org"), "--dry-run"
    )
    assert code == 0
    assert "dry run" in out
    assert "1 would be created" in out
    assert Professional.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_reimporting_the_same_file_creates_no_duplicates_and_no_events(tmp_path):
    content = _csv(
        f"{R1},Dupont,Jean,10,jean@example.org", f"{R2},Petit,Marie,60,marie@example.org"
    )
    assert _run_command(tmp_path, content)[0] == 0
    events_before = AuditEvent.objects.exclude(event=EventType.PROFESSIONALS_IMPORTED).count()
    code, out, _ = _run_command(tmp_path, content)
    assert code == 0
    assert "0 were created, 0 were updated, 2 unchanged" in out
    assert Professional.objects.count() == 2
    assert (
        AuditEvent.objects.exclude(event=EventType.PROFESSIONALS_IMPORTED).count() == events_before
    )


def test_a_changed_row_updates_the_professional(tmp_path):
    _run_command(tmp_path, _csv(f"{R1},Dupont,Jean,10,jean@example.org"))
    code, out, _ = _run_command(tmp_path, _csv(f"{R1},Dupont-Moreau,Jean,10,jean@example.org"))
    assert code == 0
    assert "1 were updated" in out
    professional = Professional.objects.get(rpps=R1)
    assert professional.last_name == "Dupont-Moreau"
    event = AuditEvent.objects.get(event=EventType.PROFESSIONAL_UPDATED)
    assert event.payload["changed"] == ["last_name"]


def test_bom_semicolons_crlf_and_accents(tmp_path):
    header = HEADER.replace(",", ";") + ";city;country"
    content = b"\xef\xbb\xbf" + _csv(
        f"{R1};Nguyễn;Thảo;Médecin;thao@example.org;Saint-Étienne;fr",
        f"{R2};Ødegård;Søren;70;soren@example.org;Zürich;CH",
        f'{R3};Le Gall;Yann;nurse;yann@example.org;"Brest; quartier ""Recouvrance""";FR',
        header=header,
        newline="\r\n",
    )
    code, _, err = _run_command(tmp_path, content)
    assert code == 0, err
    thao = Professional.objects.get(rpps=R1)
    assert (thao.last_name, thao.first_name, thao.city, thao.country) == (
        "Nguyễn",
        "Thảo",
        "Saint-Étienne",
        "FR",
    )
    assert thao.profession == 10
    assert Professional.objects.get(rpps=R2).last_name == "Ødegård"
    assert Professional.objects.get(rpps=R3).city == 'Brest; quartier "Recouvrance"'


def test_duplicate_rpps_in_the_file_names_both_lines(tmp_path):
    content = _csv(f"{R1},Dupont,Jean,10,a@example.org", f"{R1},Dupont,Jeanne,10,b@example.org")
    code, _, err = _run_command(tmp_path, content)
    assert code == 1
    assert f"line 3, column rpps: RPPS {R1} is also on line 2" in err


def test_wrong_field_count_is_a_row_error(tmp_path):
    code, _, err = _run_command(tmp_path, _csv(f"{R1},Dupont,Jean,10"))
    assert code == 1
    assert "line 2: has 4 fields; the header has 5" in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"rpps,last_name,first_name,email\n", "lacks the required column(s) profession"),
        (HEADER.encode() + b",favourite_colour\n", "unknown column(s) 'favourite_colour'"),
        (
            "rpps,last_name,first_name,profession,email\n1,Müller,X,10,x@y.org\n".encode("latin-1"),
            "not UTF-8",
        ),
    ],
)
def test_file_level_errors(tmp_path, content, message):
    code, _, err = _run_command(tmp_path, content)
    assert code == 1
    assert message in err
    assert Professional.objects.count() == 0


def test_organisation_by_finess(tmp_path):
    organisation = OrganisationFactory(finess="750000002")
    header = HEADER + ",organisation_finess"
    good = _csv(f"{R1},Dupont,Jean,10,a@example.org,750000002", header=header)
    assert _run_command(tmp_path, good)[0] == 0
    assert Professional.objects.get(rpps=R1).organisation == organisation
    bad = _csv(f"{R2},Petit,Marie,10,m@example.org,750712184", header=header)
    code, _, err = _run_command(tmp_path, bad)
    assert code == 1
    assert "line 2, column organisation_finess: no organisation has FINESS 750712184" in err


def test_blank_lines_are_ignored_and_line_numbers_stay_true(tmp_path):
    content = _csv(f"{R1},Dupont,Jean,10,a@example.org", "", "bad,Petit,Marie,10,m@example.org")
    code, _, err = _run_command(tmp_path, content)
    assert code == 1
    assert "line 4, column rpps" in err


def test_import_file_error_is_raised_before_any_row(db):
    with pytest.raises(ImportFileError, match="header"):
        professionals_import(content=b"name\nx\n", by=None)


# Through the API --------------------------------------------------------------------------


def _upload(content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile("people.csv", content, content_type="text/csv")


def test_api_import_rejects_with_rows_and_writes_nothing(api, users):
    client = api.as_user(users[Role.ENROLMENT_OFFICER])
    content = _csv(f"{R1},Dupont,Jean,10,a@example.org", "123,Petit,Marie,10,m@example.org")
    response = client.post(
        "/api/v1/professionals/import/", {"file": _upload(content)}, format="multipart"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "import_rejected"
    assert body["errors"] == [
        {"row": 3, "field": "rpps", "message": "RPPS number must be exactly 11 digits"}
    ]
    assert Professional.objects.count() == 0


def test_api_import_skip_invalid_and_dry_run(api, users):
    client = api.as_user(users[Role.ENROLMENT_OFFICER])
    content = _csv(f"{R1},Dupont,Jean,10,a@example.org", "123,Petit,Marie,10,m@example.org")
    dry = client.post(
        "/api/v1/professionals/import/",
        {"file": _upload(content), "dry_run": True},
        format="multipart",
    ).json()
    assert (dry["dry_run"], dry["written"], dry["created"], dry["invalid"]) == (True, False, 1, 1)
    assert Professional.objects.count() == 0
    done = client.post(
        "/api/v1/professionals/import/",
        {"file": _upload(content), "skip_invalid": True},
        format="multipart",
    ).json()
    assert (done["written"], done["created"], done["invalid"]) == (True, 1, 1)
    assert Professional.objects.get().rpps == R1


def test_api_import_file_error_has_the_common_shape(api, users):
    response = api.as_user(users[Role.ENROLMENT_OFFICER]).post(
        "/api/v1/professionals/import/", {"file": _upload(b"\xff\xfe")}, format="multipart"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_file"
    assert "UTF-8" in response.json()["message"]
