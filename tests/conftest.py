from __future__ import annotations

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from accounts.roles import Role
from cardprofiles.services.versions import card_profile_sync_builtin
from tests.factories import ProfessionalFactory, make_user
from tests.services import CHECKS


def pytest_runtest_setup(item: pytest.Item) -> None:
    for name, check in CHECKS.items():
        if item.get_closest_marker(name) is None:
            continue
        problem = check()
        if problem is None:
            continue
        if settings.CARDFORGE_REQUIRE_SERVICES:
            pytest.fail(f"{name} is required (CARDFORGE_REQUIRE_SERVICES=1): {problem}")
        pytest.skip(problem)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Real hashing is deliberately slow; tests create many users."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttle counts (the token endpoint's, per address) live in the cache: none carried over."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _private_media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def profiles(db) -> dict:
    """The built-in card profiles, by name."""
    return {
        result.version.profile.name: result.version.profile
        for result in card_profile_sync_builtin()
    }


@pytest.fixture
def users(db) -> dict[Role, object]:
    """One user per role."""
    return {role: make_user(role, username=role.slug) for role in Role}


@pytest.fixture
def professional(db):
    return ProfessionalFactory()


@pytest.fixture
def api():
    """An API client; `api.as_user(user)` signs it in, `api.as_user(None)` signs it out."""
    client = APIClient()

    def as_user(user):
        client.force_authenticate(user=user)
        return client

    client.as_user = as_user
    return client
