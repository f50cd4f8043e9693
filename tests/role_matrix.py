"""Every role against every API endpoint, one helper for all the apps' role matrices.

A matrix is a list of `Case`s: an endpoint, the roles allowed to call it and the status they
get. `call` makes the request a case builds; `assert_role_answer` says what each role must hear
(the success status if allowed, otherwise 403 permission_denied), `assert_anonymous_answer` what
a caller without credentials hears (401 not_authenticated) and `assert_roleless_answer` what a
signed-in user with no role hears (403 permission_denied). Used by tests/issuance and
tests/personalization/ui test_api_permissions.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from accounts.roles import Role

E, A, OP, U, ADM = (
    Role.ENROLMENT_OFFICER,
    Role.APPROVING_OFFICER,
    Role.ENCODING_OPERATOR,
    Role.AUDITOR,
    Role.ADMINISTRATOR,
)
EVERYONE = frozenset(Role)
ENCODING = frozenset({OP, ADM})


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    allowed: set | frozenset
    success: int
    # (context) -> (url, data) or (url, data, format); data None means no body; format "json"
    # unless given.
    build: Callable[[Any], tuple]


def cases(matrix: list[Case]):
    """@cases(CASES): parametrize a test by `case`."""
    return pytest.mark.parametrize("case", matrix, ids=lambda case: case.name)


every_role = pytest.mark.parametrize("role", list(Role), ids=lambda role: role.slug)


def call(client, case: Case, context):
    url, data, *rest = case.build(context)
    method = getattr(client, case.method)
    if data is None:
        return method(url)
    return method(url, data, format=rest[0] if rest else "json")


def assert_role_answer(response, case: Case, role: Role) -> None:
    if role in case.allowed:
        assert response.status_code == case.success, (role, response.content[:500])
    else:
        assert response.status_code == 403, (role, response.content[:500])
        assert response.json()["code"] == "permission_denied"


def assert_anonymous_answer(response) -> None:
    assert response.status_code == 401, response.content[:500]
    assert response.json()["code"] == "not_authenticated"
    assert response.has_header("WWW-Authenticate")


def assert_roleless_answer(response) -> None:
    assert response.status_code == 403, response.content[:500]
    assert response.json()["code"] == "permission_denied"
