"""Registering and editing professionals through the API: errors name the field, change nothing."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from accounts.roles import Role
from audit.events import EventType
from audit.models import AuditEvent
from issuance.models import Professional
from tests.factories import OrganisationFactory, ProfessionalFactory, valid_rpps

pytestmark = pytest.mark.django_db


def _payload(**overrides) -> dict:
    data = {
        "rpps": valid_rpps(),
        "last_name": "Ngô",
        "first_name": "Ðức",
        "profession": "Physician",
        "email": "duc@example.org",
        "country": "fr",
    }
    data.update(overrides)
    return data


@pytest.fixture
def officer(api, users):
    return api.as_user(users[Role.ENROLMENT_OFFICER])


def test_create_returns_the_professional_and_audits_it(officer):
    organisation = OrganisationFactory()
    response = officer.post(
        "/api/v1/professionals/", _payload(organisation_finess=organisation.finess), format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["last_name"], body["first_name"]) == ("Ngô", "Ðức")
    assert (body["profession"], body["profession_name"]) == (10, "Physician")
    assert body["country"] == "FR"
    assert body["organisation"]["finess"] == organisation.finess
    event = AuditEvent.objects.get(event=EventType.PROFESSIONAL_CREATED)
    assert event.object_id == str(body["id"])


@pytest.mark.parametrize(
    ("overrides", "field", "fragment"),
    [
        ({"rpps": "12345678901"}, "rpps", "check digit"),
        ({"rpps": "123"}, "rpps", "11 digits"),
        ({"last_name": ""}, "last_name", "required"),
        ({"profession": "wizard"}, "profession", "unknown profession"),
        ({"email": "nobody"}, "email", "valid email"),
        ({"country": "ZZ"}, "country", "ISO 3166"),
        ({"phone": "call me"}, "phone", "digits"),
        ({"organisation_finess": "750712184"}, "organisation_finess", "no organisation"),
        ({"organisation_finess": "123456789"}, "organisation_finess", "check digit"),
        ({"organisation_finess": "12"}, "organisation_finess", "9 digits"),
        ({"last_name": "x" * 63}, "last_name", "at most 62 bytes"),
        ({"first_name": "Jean<br>"}, "first_name", "'<'"),
        ({"nickname": "Doc"}, "nickname", "not a field"),
    ],
)
def test_invalid_input_names_the_field_and_writes_nothing(officer, overrides, field, fragment):
    response = officer.post("/api/v1/professionals/", _payload(**overrides), format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert field in [error["field"] for error in body["errors"]]
    assert fragment in " ".join(error["message"] for error in body["errors"])
    assert Professional.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_duplicate_rpps_is_refused(officer):
    existing = ProfessionalFactory()
    response = officer.post("/api/v1/professionals/", _payload(rpps=existing.rpps), format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "rpps", "message": f"a professional with RPPS {existing.rpps} already exists"}
    ]


def test_patch_changes_only_given_fields_and_records_which(officer):
    professional = ProfessionalFactory(city="Paris")
    response = officer.patch(
        f"/api/v1/professionals/{professional.pk}/",
        {"city": "Lyon", "postal_code": "69001"},
        format="json",
    )
    assert response.status_code == 200
    professional.refresh_from_db()
    assert (professional.city, professional.postal_code) == ("Lyon", "69001")
    event = AuditEvent.objects.get(event=EventType.PROFESSIONAL_UPDATED)
    assert event.payload["changed"] == ["city", "postal_code"]
    assert "Lyon" not in str(event.payload)  # field names, not personal values


def test_patch_with_a_bad_field_changes_nothing(officer):
    professional = ProfessionalFactory(city="Paris")
    response = officer.patch(
        f"/api/v1/professionals/{professional.pk}/",
        {"city": "Lyon", "email": "broken"},
        format="json",
    )
    assert response.status_code == 400
    professional.refresh_from_db()
    assert professional.city == "Paris"


def test_search_by_rpps_prefix_and_name(officer):
    wanted = ProfessionalFactory(last_name="Zéphyrin", rpps=valid_rpps(555))
    ProfessionalFactory(last_name="Autre")
    by_name = officer.get("/api/v1/professionals/?search=zéph").json()
    assert [item["rpps"] for item in by_name["results"]] == [wanted.rpps]
    by_rpps = officer.get(f"/api/v1/professionals/?search={wanted.rpps[:9]}").json()
    assert wanted.rpps in [item["rpps"] for item in by_rpps["results"]]


def test_photo_upload_is_served_only_to_signed_in_users(officer, client, users):
    buffer = io.BytesIO()
    Image.new("RGB", (30, 40), "navy").save(buffer, "JPEG")
    photo = SimpleUploadedFile("face.jpg", buffer.getvalue(), content_type="image/jpeg")
    response = officer.post(
        "/api/v1/professionals/", {**_payload(), "photo": photo}, format="multipart"
    )
    assert response.status_code == 201, response.content
    photo_url = response.json()["photo_url"]
    assert photo_url.endswith(f"/professionals/{response.json()['id']}/photo/")
    path = photo_url.split("testserver", 1)[1]
    assert client.get(path).status_code == 302  # to the login page
    client.force_login(users[Role.ENCODING_OPERATOR])
    served = client.get(path)
    assert served.status_code == 200
    assert b"".join(served.streaming_content)[:2] == b"\xff\xd8"


def test_a_non_image_photo_is_refused(officer):
    fake = SimpleUploadedFile("face.jpg", b"not an image", content_type="image/jpeg")
    response = officer.post(
        "/api/v1/professionals/", {**_payload(), "photo": fake}, format="multipart"
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "photo"
