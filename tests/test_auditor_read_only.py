"""The auditor reads everything and changes nothing: every write endpoint answers 403.

The endpoints come from the URL resolver, not from a list kept by hand, so an app routed
tomorrow is covered the day it is routed. Paths get an example value for each converter ("1"
for an id); that is enough because permission is checked before any object is looked up
(DRF's `initial()`, `@permission_required` above `get_object_or_404`): an answer other than
403 means the check came too late, or not at all. Each test collects every offender, so one
run names them all, and compares every table before and after: refused means unchanged.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.sessions.models import Session
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.resolvers import RoutePattern
from django.utils.regex_helper import normalize

from accounts.roles import Role
from audit.models import AuditEvent
from tests.factories import sign_in_verified

API = "api/v1/"
WRITE_METHODS = ("post", "put", "patch", "delete")

# Write endpoints no role guards (AllowAny, no authentication class): the request itself proves
# who sends it, so a signed-in auditor is one more anonymous caller there.
PUBLIC_API_WRITES = {
    "api/v1/auth/token/": "the sign-in: username, password and code in, a token out",
    "api/v1/activation/<str:serial>/challenge/": "the card holder's middleware; the card's key "
    "(9A) signs the challenge, no CardForge account is involved",
    "api/v1/activation/<str:serial>/": "the same activation, its second step",
}

# The one thing an auditor makes: a report. Asking for one reads the platform and changes
# nothing of it; it records the report (its row, for the download) and the request in the audit
# trail (docs/reports.md). tests/reports/ checks what it writes.
AUDITORS_REPORTS = {
    "api/v1/reports/": "asking for a signed report",
    "reports/new/": "asking for a signed report, from the auditor's dashboard",
}

# Not the back office: the API (its own test), the Django admin (its own permissions, staff
# only), and static and media files.
NOT_BACK_OFFICE = ("api/", "admin/", settings.STATIC_URL, settings.MEDIA_URL)
# Back-office routes any signed-in user, auditor included, may rightly post to.
OPEN_TO_EVERY_USER = {
    "login/": "the sign-in form",
    "login/code/": "the second-factor step, posted after the password",
    "login/enrol/": "enrolling one's own authenticator app",
    "logout/": "signing out",
    "account/set-password/<uidb64>/<token>/": "setting one's own password from an emailed link",
    "account/set-password/done/": "the page shown after that",
    # RFC 6960 Appendix A.1: relying parties POST their OCSP requests, unauthenticated; the
    # responder answers from the certificates' state and stores nothing.
    "pki/ocsp/<slug:slug>/": "the OCSP responder",
}

_PLACEHOLDER = re.compile(r"<(?:\w+:)?(?P<name>\w+)>")
# The first that a converter's regex accepts is its example: an id, a uuid, a word.
_EXAMPLE_VALUES = ("1", "00000000-0000-4000-8000-000000000001", "example")


@dataclass(frozen=True)
class Endpoint:
    route: str  # as written in the URLconfs, e.g. "api/v1/jobs/<id:pk>/retry/"
    path: str  # with an example value for each parameter, e.g. "/api/v1/jobs/1/retry/"
    callback: object

    @property
    def view_class(self) -> type | None:
        """The class of a class-based view: DRF's `cls`, Django's `view_class`."""
        return getattr(self.callback, "cls", None) or getattr(self.callback, "view_class", None)


def _example(converter) -> str:
    return next(value for value in _EXAMPLE_VALUES if re.fullmatch(converter.regex, value))


def _example_part(pattern) -> str:
    if isinstance(pattern, RoutePattern):
        return _PLACEHOLDER.sub(lambda m: _example(pattern.converters[m["name"]]), str(pattern))
    # re_path(): the first form Django's reverse() would build, each group "1".
    form, names = normalize(pattern.regex.pattern)[0]
    return form % dict.fromkeys(names, "1")


def _endpoints(resolver=None, routes=(), patterns=()) -> Iterator[Endpoint]:
    for entry in (resolver or get_resolver()).url_patterns:
        chain = (*patterns, entry.pattern)
        route = (*routes, str(entry.pattern))
        if isinstance(entry, URLResolver):
            yield from _endpoints(entry, route, chain)
        elif isinstance(entry, URLPattern):
            path = "/" + "".join(_example_part(pattern) for pattern in chain)
            yield Endpoint(route="".join(route), path=path, callback=entry.callback)


def _declared_methods(endpoint: Endpoint) -> set[str] | None:
    """The methods a back-office view says it takes, or None when it takes any alike (a
    function view with no `@require_http_methods`). Read from the view class's handlers, or
    from the decorator's `request_method_list` in the chain of wrappers `functools.wraps`
    leaves."""
    if endpoint.view_class is not None:
        names = endpoint.view_class.http_method_names
        return {name.upper() for name in names if hasattr(endpoint.view_class, name)}
    view = endpoint.callback
    while view is not None:
        declared = inspect.getclosurevars(view).nonlocals.get("request_method_list")
        if declared is not None:
            return set(declared)
        view = getattr(view, "__wrapped__", None)
    return None


def _database_rows() -> dict[str, list[tuple]]:
    """Every row of every table but the sessions' (signing in writes one): what "nothing
    changed" compares."""
    return {
        model._meta.label: list(model._base_manager.order_by("pk").values_list())
        for model in apps.get_models(include_auto_created=True)
        if model._meta.managed and not model._meta.proxy and model is not Session
    }


def _changed_tables(before: dict[str, list[tuple]]) -> list[str]:
    after = _database_rows()
    return sorted(label for label, rows in after.items() if rows != before.get(label))


def _resolves_elsewhere(endpoint: Endpoint) -> str | None:
    """A problem when the example path reaches another view than the route's (an earlier
    route that also matches it), so the test would check the wrong one."""
    found = resolve(endpoint.path).func
    return None if found is endpoint.callback else f"reaches {found.__qualname__}"


def _answer(response) -> str:
    return f"{response.status_code} {response.content[:200]!r}"


def _report(offenders: list[tuple[str, str, str]], changed: list[str], new_events: int) -> str:
    """One message naming every offender and what changed, so one run shows it all."""
    lines = ["the auditor was not refused:", *(" ".join(offender) for offender in offenders)]
    return "\n".join([*lines, f"tables changed: {changed}", f"audit events written: {new_events}"])


@pytest.mark.django_db
def test_every_api_write_refuses_the_auditor(api, users):
    client = api.as_user(users[Role.AUDITOR])
    endpoints = [e for e in _endpoints() if e.route.startswith(API)]
    routes = {endpoint.route for endpoint in endpoints}
    assert set(PUBLIC_API_WRITES) <= routes, "an exception names a route that is gone"
    assert "api/v1/reports/" in routes

    writes = [
        (endpoint, method)
        for endpoint in endpoints
        if endpoint.route not in PUBLIC_API_WRITES and endpoint.route not in AUDITORS_REPORTS
        # A plain Django view under the API says nothing of its methods: it is posted to.
        for method in (
            [m for m in WRITE_METHODS if hasattr(endpoint.view_class, m)]
            if endpoint.view_class is not None
            else ["post"]
        )
    ]
    events = AuditEvent.objects.count()
    before = _database_rows()
    offenders = []
    for endpoint, method in writes:
        if problem := _resolves_elsewhere(endpoint):
            offenders.append((method.upper(), endpoint.path, problem))
            continue
        response = getattr(client, method)(endpoint.path, {}, format="json")
        refused = response.status_code == 403 and (
            response.headers.get("Content-Type", "").startswith("application/json")
            and response.json()["code"] == "permission_denied"
        )
        # A plain Django view that takes no POST answers 405: no write there.
        if not refused and not (endpoint.view_class is None and response.status_code == 405):
            offenders.append((method.upper(), endpoint.path, _answer(response)))

    changed = _changed_tables(before)
    new_events = AuditEvent.objects.count() - events
    assert not offenders, _report(offenders, changed, new_events)
    assert len(writes) > 30, f"only {len(writes)} API write endpoints found"
    assert new_events == 0, _report(offenders, changed, new_events)
    assert changed == [], _report(offenders, changed, new_events)


@pytest.mark.django_db
def test_every_back_office_post_refuses_the_auditor(client, users):
    endpoints = [e for e in _endpoints() if not e.route.startswith(NOT_BACK_OFFICE)]
    routes = {endpoint.route for endpoint in endpoints}
    assert set(OPEN_TO_EVERY_USER) <= routes, "an exception names a route that is gone"
    assert "reports/new/" in routes
    pages = [
        endpoint
        for endpoint in endpoints
        if endpoint.route not in OPEN_TO_EVERY_USER and endpoint.route not in AUDITORS_REPORTS
    ]

    declared = {page.route: _declared_methods(page) for page in pages}
    assert any(declared.values()), "_declared_methods no longer reads the views' methods"

    sign_in_verified(client, users[Role.AUDITOR])
    # Counted after signing in, which writes its own sign-in event.
    events = AuditEvent.objects.count()
    before = _database_rows()
    offenders = []
    for page in pages:
        if problem := _resolves_elsewhere(page):
            offenders.append(("POST", page.path, problem))
            continue
        response = client.post(page.path, {})
        # 403: refused; 405: the page takes no POST, so there is nothing to change there.
        if response.status_code in (403, 405):
            continue
        # A read page that takes every method alike answers a POST as it answers a GET (the
        # page, or 404 for the example id): that is no write. A page that takes POST, though,
        # is a write and owes the auditor a 403, whatever else it does instead.
        methods = declared[page.route]
        if methods is None and client.get(page.path).status_code == response.status_code:
            continue
        offenders.append(("POST", page.path, _answer(response)))

    changed = _changed_tables(before)
    new_events = AuditEvent.objects.count() - events
    assert not offenders, _report(offenders, changed, new_events)
    assert len(pages) > 30, f"only {len(pages)} back-office pages found"
    assert new_events == 0, _report(offenders, changed, new_events)
    assert changed == [], _report(offenders, changed, new_events)
