"""A bounded fuzz of the token endpoint and every API body parser, in-process (Django's test
client): random JSON (deep, wide, huge numbers, odd strings), random bytes under random content
types and broken Content-Length headers. No answer is a 500, and every API error comes in the
one error shape of config/api.py. The OCSP responder's fuzz is in tests/pki/test_ocsp_fuzz.py.
"""

from __future__ import annotations

import json
import re

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import OrganisationFactory, ProfessionalFactory, make_user

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

FIELDS = [
    "username", "password", "rpps", "last_name", "first_name", "profession", "email", "finess",
    "name", "organisation_finess", "country", "phone", "card_request", "card_requests",
    "profile", "reason", "comment", "status", "station", "transport", "reader", "dry_run",
    "skip_invalid", "certificate", "serial", "approved", "enabled", "decision", "professional",
]  # fmt: skip

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=80)
    | st.sampled_from(
        ["", "0", "-1", "1e999", "10003456786", "750712184", "\u202e", "\x00", "²", "١٢"]
    )
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=12), children, max_size=6)
    ),
    max_leaves=30,
)
bodies = (
    json_values.map(lambda value: json.dumps(value).encode())
    | st.binary(max_size=300)
    | st.integers(min_value=1, max_value=3000).map(lambda depth: b"[" * depth + b"]" * depth)
    | st.integers(min_value=1, max_value=3000).map(lambda d: b'{"a":' * d + b"1" + b"}" * d)
)
content_types = st.sampled_from(
    [
        "application/json",
        "application/json; charset=latin-1",
        "application/json; charset=nope",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=xyz",
        "multipart/form-data",
        "text/plain",
        "application/ocsp-request",
        "",
    ]
)
# Lengths no larger than the body: Django's test client refuses to read past its body, which
# a real server would simply not deliver.
lengths = st.none() | st.sampled_from(["abc", "-1", "1e3", "99999999999999999999", "0", " 1"])

FUZZ = settings(
    max_examples=400,
    deadline=None,
    derandomize=True,  # the same cases on every run: a failure here is reproducible
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _assert_answer(response, path: str) -> None:
    assert response.status_code < 500, (path, response.status_code, response.content[:300])
    if path.startswith("/api/") and response.status_code >= 400:
        body = response.json()
        assert set(body) >= {"code", "message", "errors"}, (path, body)
        assert isinstance(body["errors"], list)


def _write_routes() -> list[tuple[str, str]]:
    """(path template, method) of every API view that takes a body."""
    routes = []

    def walk(resolver, prefix: str) -> None:
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                walk(entry, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern):
                view = getattr(entry.callback, "cls", None)
                route = prefix + str(entry.pattern)
                if view is None or not route.startswith("api/"):
                    continue
                routes.extend((route, m) for m in ("post", "put", "patch") if hasattr(view, m))

    walk(get_resolver(), "")
    return routes


WRITE_ROUTES = _write_routes()


def test_the_fuzz_covers_the_api():
    assert len(WRITE_ROUTES) >= 20


@pytest.fixture
def superuser_client():
    client = Client(raise_request_exception=False)
    client.force_login(make_user(None, username="fuzz-root", is_superuser=True, is_staff=True))
    return client


@FUZZ
@given(body=bodies, content_type=content_types, length=lengths)
def test_the_token_endpoint_never_answers_500(body, content_type, length):
    cache.clear()  # the token endpoint's throttle would answer 429 to most cases
    client = Client(raise_request_exception=False)
    extra = {"CONTENT_LENGTH": length} if length is not None else {}
    # generic(): the body goes as given (post() would re-encode it for a charset parameter).
    response = client.generic(
        "POST", "/api/v1/auth/token/", data=body, content_type=content_type, **extra
    )
    _assert_answer(response, "/api/v1/auth/token/")


@settings(FUZZ, max_examples=1500)
@given(
    route=st.sampled_from(WRITE_ROUTES),
    body=bodies,
    content_type=content_types,
    length=lengths,
    ident=st.sampled_from(["1", "2", "9223372036854775807"]),
)
def test_every_api_body_parser_never_answers_500(
    superuser_client, route, body, content_type, length, ident
):
    cache.clear()  # throttles: a 429 would hide what the parser does
    template, method = route
    path = "/" + re.sub(r"<(?:id|int|slug):\w+>", ident, template)
    extra = {"CONTENT_LENGTH": length} if length is not None else {}
    response = superuser_client.generic(
        method.upper(), path, data=body, content_type=content_type, **extra
    )
    _assert_answer(response, path)


@pytest.fixture(autouse=True)
def _fresh_throttles():
    yield
    cache.clear()  # leave no throttle counts to the tests that follow


@pytest.fixture(autouse=True)
def _registry_rows(db):
    """Rows with id 1 the detail routes find, so their bodies are parsed and validated too."""
    organisation = OrganisationFactory()
    ProfessionalFactory(organisation=organisation)
