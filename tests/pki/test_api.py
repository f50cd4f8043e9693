"""The PKI API: roles, filters, and revocation with four eyes as an officer would use it."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.roles import Role
from accounts.services.tokens import api_token_create
from pki.models import Certificate, RevocationRequest
from pki.services.certificates import certificate_issue


def _client(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        _, key = api_token_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.fixture
def certificates(pki, professional, other_professional, subject_keys):
    key = subject_keys["ec"].public_key()
    return {
        "auth": certificate_issue(
            public_key=key, profile="hp-authentication", professional=professional
        ),
        "sign": certificate_issue(
            public_key=key, profile="hp-qualified-signature", professional=professional
        ),
        "other": certificate_issue(
            public_key=key, profile="hp-authentication", professional=other_professional
        ),
    }


@pytest.fixture
def users(user_with_role):
    return {
        "enrolment": user_with_role(Role.ENROLMENT_OFFICER, "alice"),
        "enrolment2": user_with_role(Role.ENROLMENT_OFFICER, "anne"),
        "approver": user_with_role(Role.APPROVING_OFFICER, "bob"),
        "operator": user_with_role(Role.ENCODING_OPERATOR, "olga"),
        "auditor": user_with_role(Role.AUDITOR, "audrey"),
        "admin": user_with_role(Role.ADMINISTRATOR, "adam"),
        "admin2": user_with_role(Role.ADMINISTRATOR, "ada"),
        "nobody": user_with_role(None, "nobody"),
    }


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/cas/",
        "/api/v1/cas/root/",
        "/api/v1/certificates/",
        "/api/v1/certificates/revocation-requests/",
    ],
)
def test_anonymous_is_401(pki, path):
    response = _client().get(path)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert "WWW-Authenticate" in response


@pytest.mark.parametrize(
    ("role", "path", "expected"),
    [
        ("nobody", "/api/v1/cas/", 403),
        ("nobody", "/api/v1/certificates/", 403),
        ("operator", "/api/v1/cas/", 200),
        ("operator", "/api/v1/certificates/", 200),
        ("operator", "/api/v1/certificates/revocation-requests/", 403),
        ("auditor", "/api/v1/certificates/revocation-requests/", 200),
        ("approver", "/api/v1/certificates/revocation-requests/", 200),
        ("enrolment", "/api/v1/certificates/revocation-requests/", 200),
    ],
)
def test_reading_by_role(certificates, users, role, path, expected):
    assert _client(users[role]).get(path).status_code == expected


@pytest.mark.parametrize(
    ("role", "expected"),
    [("operator", 403), ("auditor", 403), ("approver", 403), ("nobody", 403), ("enrolment", 201)],
)
def test_asking_for_a_revocation_by_role(certificates, users, role, expected):
    response = _client(users[role]).post(
        f"/api/v1/certificates/{certificates['auth'].pk}/revoke/", {"reason": "keyCompromise"}
    )
    assert response.status_code == expected, response.json()


def test_ca_list_and_detail(pki, users):
    client = _client(users["auditor"])
    listing = client.get("/api/v1/cas/").json()
    slugs = {ca["slug"] for ca in listing["results"]}
    assert {"root", "authentication", "qualified-signature"} <= slugs
    detail = client.get("/api/v1/cas/authentication/").json()
    assert detail["parent"] == "root"
    assert detail["purpose"] == "authentication"
    assert detail["is_current"] is True
    assert detail["crl"]["number"] >= 1
    assert detail["urls"]["ocsp"] == "http://pki.example.org/pki/ocsp/authentication/"
    assert "key_handle" not in detail
    assert client.get("/api/v1/cas/nope/").status_code == 404


def test_certificate_filters(certificates, users, professional):
    client = _client(users["auditor"])

    def ids(query: str) -> set[int]:
        response = client.get(f"/api/v1/certificates/?{query}")
        assert response.status_code == 200, response.json()
        return {row["id"] for row in response.json()["results"]}

    auth, sign, other = (certificates[name].pk for name in ("auth", "sign", "other"))
    assert {auth, sign, other} <= ids("")
    assert ids(f"professional={professional.rpps}") == {auth, sign}
    assert ids("profile=hp-qualified-signature") == {sign}
    assert ids(f"profile=hp-authentication&professional={professional.rpps}") == {auth}
    assert ids("ca=qualified-signature&profile=hp-qualified-signature") == {sign}
    assert ids(f"serial={certificates['other'].serial.lower()}") == {other}
    assert {auth, sign, other} <= ids("status=valid")
    assert ids("status=revoked") == set()

    Certificate.objects.filter(pk=auth).update(
        status="revoked",
        revoked_at=certificates["auth"].issued_at,
        revocation_reason=1,
        crl_entry=b"0",
    )
    assert ids("status=revoked") == {auth}
    assert auth not in ids("status=valid")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=lost", "status"),
        ("profile=root-ca", "profile"),
        ("professional=12", "professional"),
    ],
)
def test_bad_filters_name_the_field(certificates, users, query, field):
    response = _client(users["auditor"]).get(f"/api/v1/certificates/?{query}")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == field


def test_certificate_detail_has_pem_and_no_secret(certificates, users):
    response = _client(users["operator"]).get(f"/api/v1/certificates/{certificates['sign'].pk}/")
    body = response.json()
    assert body["pem"].startswith("-----BEGIN CERTIFICATE-----")
    assert body["profile"] == "hp-qualified-signature"
    assert body["card_slot"] == "9C"
    assert "crl_entry" not in body
    assert "der" not in body
    assert _client(users["operator"]).get("/api/v1/certificates/999999/").status_code == 404


def test_four_eyes_revocation_through_the_api(
    certificates, users, django_capture_on_commit_callbacks
):
    target = certificates["auth"]
    asked = _client(users["enrolment"]).post(
        f"/api/v1/certificates/{target.pk}/revoke/",
        {"reason": "affiliationChanged", "comment": "left the hospital"},
    )
    assert asked.status_code == 201
    request_id = asked.json()["id"]
    assert asked.json()["status"] == "pending"
    assert asked.json()["requested_by"] == "alice"

    # The requester cannot approve their own request.
    refused = _client(users["enrolment"]).post(
        f"/api/v1/certificates/revocation-requests/{request_id}/approve/"
    )
    assert refused.status_code == 403

    pending = _client(users["approver"]).get(
        "/api/v1/certificates/revocation-requests/?status=pending"
    )
    assert [row["id"] for row in pending.json()["results"]] == [request_id]

    with django_capture_on_commit_callbacks(execute=True):
        approved = _client(users["approver"]).post(
            f"/api/v1/certificates/revocation-requests/{request_id}/approve/", {"comment": "ok"}
        )
    assert approved.status_code == 200, approved.json()
    assert approved.json()["status"] == "approved"
    assert approved.json()["decided_by"] == "bob"
    detail = _client(users["auditor"]).get(f"/api/v1/certificates/{target.pk}/").json()
    assert detail["status"] == "revoked"
    assert detail["revocation_reason"] == "affiliationChanged"
    again = _client(users["admin"]).post(
        f"/api/v1/certificates/revocation-requests/{request_id}/approve/"
    )
    assert again.status_code == 409


def test_administrator_cannot_approve_their_own_request(certificates, users):
    target = certificates["sign"]
    asked = _client(users["admin"]).post(
        f"/api/v1/certificates/{target.pk}/revoke/", {"reason": "certificateHold"}
    )
    assert asked.status_code == 201
    request_id = asked.json()["id"]
    refused = _client(users["admin"]).post(
        f"/api/v1/certificates/revocation-requests/{request_id}/approve/"
    )
    assert refused.status_code == 403
    assert refused.json()["code"] == "four_eyes"
    users["admin"].is_superuser = True
    users["admin"].save()
    assert (
        _client(users["admin"])
        .post(f"/api/v1/certificates/revocation-requests/{request_id}/approve/")
        .status_code
        == 403
    )
    target.refresh_from_db()
    assert target.status == Certificate.Status.VALID
    approved = _client(users["admin2"]).post(
        f"/api/v1/certificates/revocation-requests/{request_id}/approve/"
    )
    assert approved.status_code == 200
    target.refresh_from_db()
    assert target.status == Certificate.Status.ON_HOLD


def test_reject_and_cancel_through_the_api(certificates, users):
    target = certificates["other"]
    first = (
        _client(users["enrolment"])
        .post(f"/api/v1/certificates/{target.pk}/revoke/", {"reason": "superseded"})
        .json()["id"]
    )
    assert (
        _client(users["enrolment2"])
        .post(f"/api/v1/certificates/revocation-requests/{first}/cancel/")
        .status_code
        == 403
    )
    rejected = _client(users["approver"]).post(
        f"/api/v1/certificates/revocation-requests/{first}/reject/", {"comment": "not proven"}
    )
    assert rejected.json()["status"] == "rejected"
    second = (
        _client(users["enrolment"])
        .post(f"/api/v1/certificates/{target.pk}/revoke/", {"reason": "superseded"})
        .json()["id"]
    )
    cancelled = _client(users["enrolment"]).post(
        f"/api/v1/certificates/revocation-requests/{second}/cancel/"
    )
    assert cancelled.json()["status"] == "cancelled"
    assert RevocationRequest.objects.filter(certificate=target).count() == 2


@pytest.mark.parametrize(
    ("payload", "field"),
    [({}, "reason"), ({"reason": "cACompromise"}, "reason"), ({"reason": "stolen"}, "reason")],
)
def test_bad_revocation_input_names_the_field_and_changes_nothing(
    certificates, users, payload, field
):
    response = _client(users["enrolment"]).post(
        f"/api/v1/certificates/{certificates['auth'].pk}/revoke/", payload
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == field
    assert RevocationRequest.objects.count() == 0


def test_release_of_a_certificate_not_on_hold_conflicts(certificates, users):
    response = _client(users["enrolment"]).post(
        f"/api/v1/certificates/{certificates['auth'].pk}/revoke/", {"reason": "removeFromCRL"}
    )
    assert response.status_code == 409
    assert response.json()["errors"][0]["field"] == "reason"


def test_schema_describes_the_pki_api_without_warnings(tmp_path):
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yml"))
    schema = (tmp_path / "s.yml").read_text()
    assert "/api/v1/certificates/{id}/revoke/" in schema
    assert "/api/v1/certificates/revocation-requests/{id}/approve/" in schema
    assert "RevocationReasonEnum" in schema
