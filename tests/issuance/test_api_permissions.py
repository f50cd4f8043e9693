"""Every role against every API endpoint: allowed roles succeed, others get 403, anonymous 401."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.roles import Role
from cards.models import CardRequest
from cards.services.card_requests import card_request_submit
from tests.factories import (
    OrganisationFactory,
    ProfessionalFactory,
    make_user,
    valid_finess,
    valid_rpps,
)
from tests.role_matrix import (
    ADM,
    EVERYONE,
    A,
    Case,
    E,
    U,
    assert_anonymous_answer,
    assert_role_answer,
    assert_roleless_answer,
    call,
    cases,
    every_role,
)


def _submitted_request(ctx) -> CardRequest:
    # Submitted by a dedicated officer, so no role under test is the submitter.
    return card_request_submit(
        professional=ProfessionalFactory(),
        profile=ctx["profiles"]["hpc-physician"],
        by=ctx["submitter"],
    )


def _own_submitted_request(ctx) -> CardRequest:
    """Submitted by the caller where it may submit (only a submitter may cancel), otherwise
    by the dedicated officer."""
    caller = ctx.get("caller")
    by = caller if caller and caller.has_perm("cards.add_cardrequest") else ctx["submitter"]
    return card_request_submit(
        professional=ProfessionalFactory(), profile=ctx["profiles"]["hpc-physician"], by=by
    )


def _csv(ctx):
    content = (
        f"rpps,last_name,first_name,profession,email\n{valid_rpps()},Durand,Zoé,10,z@example.org\n"
    )
    return SimpleUploadedFile("people.csv", content.encode(), content_type="text/csv")


CASES = [
    Case(
        "list professionals", "get", EVERYONE, 200, lambda c: ("/api/v1/professionals/", None, None)
    ),
    Case(
        "create professional",
        "post",
        {E, ADM},
        201,
        lambda c: (
            "/api/v1/professionals/",
            {
                "rpps": valid_rpps(),
                "last_name": "Roux",
                "first_name": "Anaïs",
                "profession": "nurse",
                "email": "a@example.org",
            },
            "json",
        ),
    ),
    Case(
        "get professional",
        "get",
        EVERYONE,
        200,
        lambda c: (f"/api/v1/professionals/{c['professional'].pk}/", None, None),
    ),
    Case(
        "update professional",
        "patch",
        {E, ADM},
        200,
        lambda c: (f"/api/v1/professionals/{c['professional'].pk}/", {"city": "Lille"}, "json"),
    ),
    Case(
        "import professionals",
        "post",
        {E, ADM},
        200,
        lambda c: ("/api/v1/professionals/import/", {"file": _csv(c)}, "multipart"),
    ),
    Case(
        "list organisations", "get", EVERYONE, 200, lambda c: ("/api/v1/organisations/", None, None)
    ),
    Case(
        "create organisation",
        "post",
        {E, ADM},
        201,
        lambda c: (
            "/api/v1/organisations/",
            {"name": "CHU", "finess": valid_finess(c["seq"] % 1_000_000, "75")},
            "json",
        ),
    ),
    Case(
        "get organisation",
        "get",
        EVERYONE,
        200,
        lambda c: (f"/api/v1/organisations/{c['organisation'].pk}/", None, None),
    ),
    Case(
        "update organisation",
        "patch",
        {E, ADM},
        200,
        lambda c: (f"/api/v1/organisations/{c['organisation'].pk}/", {"name": "Renamed"}, "json"),
    ),
    Case(
        "list card profiles", "get", EVERYONE, 200, lambda c: ("/api/v1/card-profiles/", None, None)
    ),
    Case(
        "get card profile",
        "get",
        EVERYONE,
        200,
        lambda c: ("/api/v1/card-profiles/hpc-rsa/", None, None),
    ),
    Case(
        "list card requests", "get", EVERYONE, 200, lambda c: ("/api/v1/card-requests/", None, None)
    ),
    Case(
        "submit card request",
        "post",
        {E, ADM},
        201,
        lambda c: (
            "/api/v1/card-requests/",
            {"professional": c["professional"].rpps, "profile": "hpc-physician"},
            "json",
        ),
    ),
    Case(
        "get card request",
        "get",
        EVERYONE,
        200,
        lambda c: (f"/api/v1/card-requests/{_submitted_request(c).pk}/", None, None),
    ),
    Case(
        "approve card request",
        "post",
        {A, ADM},
        200,
        lambda c: (f"/api/v1/card-requests/{_submitted_request(c).pk}/approve/", {}, "json"),
    ),
    Case(
        "reject card request",
        "post",
        {A, ADM},
        200,
        lambda c: (
            f"/api/v1/card-requests/{_submitted_request(c).pk}/reject/",
            {"reason": "duplicate"},
            "json",
        ),
    ),
    Case(
        "cancel card request",
        "post",
        {E, ADM},
        200,
        lambda c: (f"/api/v1/card-requests/{_own_submitted_request(c).pk}/cancel/", {}, "json"),
    ),
    Case(
        "list audit events", "get", {U, ADM}, 200, lambda c: ("/api/v1/audit-events/", None, None)
    ),
    Case(
        "get audit event", "get", {U, ADM}, 200, lambda c: ("/api/v1/audit-events/1/", None, None)
    ),
    Case(
        "verify audit chain",
        "get",
        {U, ADM},
        200,
        lambda c: ("/api/v1/audit-events/verify/", None, None),
    ),
]

_seq = iter(range(700000000, 800000000))


@pytest.fixture
def context(db, profiles):
    return {
        "profiles": profiles,
        "submitter": make_user(Role.ENROLMENT_OFFICER),
        "professional": ProfessionalFactory(),
        "organisation": OrganisationFactory(),
        "seq": next(_seq),
    }


@cases(CASES)
@every_role
def test_role_permissions(api, context, case, role):
    user = make_user(role)
    context["caller"] = user
    assert_role_answer(call(api.as_user(user), case, context), case, role)


@cases(CASES)
def test_anonymous_gets_401(api, context, case):
    assert_anonymous_answer(call(api.as_user(None), case, context))


@cases(CASES)
def test_user_without_role_gets_403(api, context, case):
    assert_roleless_answer(call(api.as_user(make_user(None)), case, context))


def test_token_authentication_works_end_to_end(api, db):
    make_user(Role.AUDITOR, username="tokenuser")
    token = api.post(
        "/api/v1/auth/token/",
        {"username": "tokenuser", "password": "correct horse battery staple"},
        format="json",
    ).json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/v1/audit-events/").status_code == 200
    api.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert api.get("/api/v1/audit-events/").status_code == 401


def test_wrong_password_gets_no_token(api, db):
    make_user(Role.AUDITOR, username="tokenuser")
    response = api.post(
        "/api/v1/auth/token/", {"username": "tokenuser", "password": "wrong"}, format="json"
    )
    assert response.status_code == 400
    assert "token" not in response.json()
