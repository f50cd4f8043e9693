"""Hostile input never earns a server error: a broken Content-Length, JSON nested 100,000 deep,
numbers beyond any id, ids of 10**30 in paths and query strings. Each is answered 400 or 404,
and the API answers in its one error shape (config/api.py)."""

from __future__ import annotations

import json
import re

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from accounts.roles import Role
from tests.factories import make_user, sign_in_verified

HUGE = 10**30


@pytest.fixture(autouse=True)
def _fresh_throttles():
    """The token endpoint's throttle counts in the cache; other tests' requests must not make
    these answer 429."""
    cache.clear()
    yield
    cache.clear()


def _error_shape(response) -> dict:
    body = response.json()
    assert set(body) == {"code", "message", "errors"}, body
    assert isinstance(body["message"], str)
    assert body["message"]
    return body


# --- Content-Length -------------------------------------------------------------------------

ENDPOINTS = [
    "/api/v1/auth/token/",
    "/api/v1/professionals/",
    "/login/",
    "/pki/ocsp/authentication/",
]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("length", ["abc", "-1", "1e3", " 12"])
def test_a_malformed_content_length_is_a_400(path, length):
    client = Client(raise_request_exception=False)
    response = client.post(
        path, data=b'{"username": "x"}', content_type="application/json", CONTENT_LENGTH=length
    )
    assert response.status_code == 400, response.content[:300]
    if path.startswith("/api/"):
        body = _error_shape(response)
        assert body["errors"][0]["field"] == "Content-Length"


@pytest.mark.django_db
@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("length", [str(HUGE), "99999999999"])
def test_a_content_length_beyond_any_endpoint_is_a_413(path, length):
    client = Client(raise_request_exception=False)
    response = client.post(path, data=b"{}", content_type="application/json", CONTENT_LENGTH=length)
    assert response.status_code == 413, response.content[:300]
    if path.startswith("/api/"):
        assert _error_shape(response)["errors"][0]["field"] == "Content-Length"


@pytest.mark.django_db
def test_an_import_announced_over_the_limit_is_refused_before_it_is_read(settings, users):
    settings.CARDFORGE_IMPORT_MAX_BYTES = 10
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10
    from config.middleware import max_request_bytes

    client = Client(raise_request_exception=False)
    client.force_login(users[Role.ENROLMENT_OFFICER])
    response = client.post(
        "/api/v1/professionals/import/",
        data=b"x",
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(max_request_bytes() + 1),
    )
    assert response.status_code == 413


# --- JSON bodies ----------------------------------------------------------------------------


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.django_db
@pytest.mark.parametrize("body", [_nested(100_000), b'{"a":' * 100_000 + b"1" + b"}" * 100_000])
def test_deeply_nested_json_to_the_token_endpoint_is_a_400(body):
    client = Client(raise_request_exception=False)
    response = client.post("/api/v1/auth/token/", data=body, content_type="application/json")
    assert response.status_code == 400
    assert _error_shape(response)["code"] == "parse_error"


@pytest.mark.django_db
def test_moderately_nested_json_is_refused_before_a_serializer_sees_it(users):
    client = Client(raise_request_exception=False)
    client.force_login(users[Role.ENROLMENT_OFFICER])
    for path in ("/api/v1/professionals/", "/api/v1/organisations/"):
        response = client.post(path, data=_nested(200), content_type="application/json")
        assert response.status_code == 400
        assert "nested" in _error_shape(response)["message"]


@pytest.mark.django_db
def test_a_number_beyond_any_id_in_a_body_is_a_400(users):
    client = Client(raise_request_exception=False)
    client.force_login(users[Role.ENCODING_OPERATOR])
    response = client.post(
        "/api/v1/jobs/", data=json.dumps({"card_request": HUGE}), content_type="application/json"
    )
    assert response.status_code == 400
    _error_shape(response)


# --- ids in paths and query strings ---------------------------------------------------------


def _int_routes(resolver=None, prefix: str = "") -> list[str]:
    """Every route of the project with an integer converter, as a path template."""
    routes = []
    for entry in (resolver or get_resolver()).url_patterns:
        pattern = str(entry.pattern)
        if isinstance(entry, URLResolver):
            routes.extend(_int_routes(entry, prefix + pattern))
        elif isinstance(entry, URLPattern) and re.search(r"<(int|id):", pattern):
            routes.append(prefix + pattern)
    return routes


def _fill(route: str, value: str) -> str:
    return "/" + re.sub(r"<(?:int|id):\w+>", value, route).lstrip("^").rstrip("$")


def test_there_are_id_routes_to_try():
    assert len(_int_routes()) > 30


@pytest.mark.django_db
@pytest.mark.parametrize("value", [str(HUGE), str(2**63), "-1", "abc", "0"])
def test_ids_of_any_size_in_paths_are_a_404(value):
    admin = make_user(None, username="root", is_superuser=True, is_staff=True)
    client = Client(raise_request_exception=False)
    sign_in_verified(client, admin)
    failures = []
    for route in _int_routes():
        path = _fill(route, value)
        for method in ("get", "post"):
            response = getattr(client, method)(path)
            # 403: a method the view maps to no permission; 302: the admin's "no such object".
            expected = (
                (302, 400, 403, 404, 405) if path.startswith("/admin/") else (400, 403, 404, 405)
            )
            if response.status_code not in expected:
                failures.append((method, path, response.status_code))
            elif path.startswith("/api/") and response.status_code in (400, 403, 404):
                _error_shape(response)
    assert not failures


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/api/v1/jobs/", "batch"),
        ("/jobs/", "batch"),
        ("/api/v1/audit-events/", "event"),
        ("/api/v1/certificates/revocation-requests/", "certificate"),
        ("/api/v1/cards/", "professional"),
        ("/api/v1/professionals/", "page"),
        ("/api/v1/professionals/", "page_size"),
        ("/professionals/", "page"),
        ("/api/v1/professionals/", "profession"),
        ("/professionals/", "profession"),
        ("/audit/", "event"),
    ],
)
@pytest.mark.parametrize("value", [str(HUGE), "-1", "abc", "²"])  # "²".isdigit() is True
def test_ids_of_any_size_in_query_strings_are_not_a_server_error(path, parameter, value):
    admin = make_user(None, username="root", is_superuser=True, is_staff=True)
    client = Client(raise_request_exception=False)
    sign_in_verified(client, admin)
    response = client.get(path, {parameter: value})
    assert response.status_code in (200, 400, 404), (path, response.status_code)
    if path.startswith("/api/") and response.status_code != 200:
        _error_shape(response)


@pytest.mark.django_db
def test_a_profile_version_of_any_size_shows_the_latest(profiles):
    admin = make_user(None, username="root", is_superuser=True, is_staff=True)
    client = Client(raise_request_exception=False)
    sign_in_verified(client, admin)
    name = next(iter(profiles))
    for version in (str(HUGE), "²", "-1"):
        assert client.get(f"/profiles/{name}/", {"version": version}).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("content_type", ["application/json", "application/x-www-form-urlencoded"])
def test_a_body_over_the_data_limit_is_answered_in_the_error_shape(settings, content_type):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10
    client = Client(raise_request_exception=False)
    response = client.generic(
        "POST", "/api/v1/auth/token/", data=b'{"username": "' + b"a" * 40 + b'"}',
        content_type=content_type,
    )  # fmt: skip
    assert response.status_code in (400, 413)
    _error_shape(response)


@pytest.mark.django_db
@pytest.mark.parametrize("reference", ["²", "١٢", str(HUGE), "-1"])  # "١٢": Arabic-Indic digits
def test_a_professional_reference_of_any_kind_is_a_400_naming_the_field(users, profiles, reference):
    client = Client(raise_request_exception=False)
    client.force_login(users[Role.ENROLMENT_OFFICER])
    response = client.post(
        "/api/v1/card-requests/",
        data=json.dumps({"professional": reference, "profile": next(iter(profiles))}),
        content_type="application/json",
    )
    assert response.status_code == 400, response.content[:300]
    assert _error_shape(response)["errors"][0]["field"] == "professional"
