"""The OpenAPI schema generates without warnings and the interactive docs need no CDN."""

import pytest
from django.core.management import call_command

from accounts.roles import Role


def test_schema_generates_and_validates_without_warnings(tmp_path, capsys):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yml"))
    schema = (tmp_path / "s.yml").read_text()
    for path in (
        "/api/v1/professionals/import/",
        "/api/v1/card-requests/{id}/approve/",
        "/api/v1/jobs/{id}/",
        "/api/v1/cards/{id}/pin-mailer.pdf",
    ):
        assert path in schema


@pytest.mark.django_db
def test_docs_page_loads_swagger_from_this_server(client, users):
    assert client.get("/api/schema/").status_code == 401  # signed-in users only
    client.force_login(users[Role.AUDITOR])
    page = client.get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in page
    assert "cdn" not in page.lower()
    assert client.get("/api/schema/").status_code == 200
