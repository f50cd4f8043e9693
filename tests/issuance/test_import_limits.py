"""CARDFORGE_IMPORT_MAX_BYTES: a CSV larger than it is refused, naming the field and the limit,
before its content is read, through the API, the back office and the command; nothing is
written."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from accounts.roles import Role
from audit.models import AuditEvent
from issuance.models import Professional
from tests.factories import valid_rpps

pytestmark = pytest.mark.django_db

LIMIT = 200


def _content(size: int) -> bytes:
    header = b"rpps,last_name,first_name,profession,email\n"
    row = f"{valid_rpps(7001)},Dupont,Jean,10,a@example.org\n".encode()
    content = header + row
    return content + b"#" * (size - len(content))  # a comment-ish tail; the size is what counts


@pytest.fixture
def small_limit(settings):
    settings.CARDFORGE_IMPORT_MAX_BYTES = LIMIT


def test_api_refuses_a_file_one_byte_over_the_limit(small_limit, api, users):
    events = AuditEvent.objects.count()
    client = api.as_user(users[Role.ENROLMENT_OFFICER])
    upload = SimpleUploadedFile("people.csv", _content(LIMIT + 1), content_type="text/csv")
    response = client.post("/api/v1/professionals/import/", {"file": upload}, format="multipart")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["errors"][0]["field"] == "file"
    assert f"{LIMIT} bytes" in body["errors"][0]["message"]
    assert Professional.objects.count() == 0
    assert AuditEvent.objects.count() == events


def test_api_accepts_a_file_at_the_limit(small_limit, api, users):
    client = api.as_user(users[Role.ENROLMENT_OFFICER])
    content = _content(LIMIT)[: LIMIT - 0]
    content = content.rstrip(b"#")  # a valid file under the limit
    upload = SimpleUploadedFile("people.csv", content, content_type="text/csv")
    response = client.post("/api/v1/professionals/import/", {"file": upload}, format="multipart")
    assert response.status_code == 200, response.json()
    assert Professional.objects.count() == 1


def test_back_office_refuses_a_file_over_the_limit(small_limit, client, users):
    client.force_login(users[Role.ENROLMENT_OFFICER])
    upload = SimpleUploadedFile("people.csv", _content(LIMIT + 1), content_type="text/csv")
    response = client.post("/professionals/import/", {"file": upload})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "file" in errors
    assert f"{LIMIT} bytes" in errors["file"][0]
    assert Professional.objects.count() == 0


def test_command_refuses_a_file_over_the_limit(small_limit, tmp_path):
    path = tmp_path / "people.csv"
    path.write_bytes(_content(LIMIT + 1))
    with pytest.raises(CommandError, match=f"{LIMIT} bytes"):
        call_command("import_professionals", str(path), "--no-progress", stdout=StringIO())
    assert Professional.objects.count() == 0


def test_the_service_refuses_content_over_the_limit(small_limit):
    from config.errors import DomainError
    from issuance.services.imports import professionals_import

    with pytest.raises(DomainError, match=f"{LIMIT} bytes"):
        professionals_import(content=_content(LIMIT + 1), by=None)
    assert Professional.objects.count() == 0
