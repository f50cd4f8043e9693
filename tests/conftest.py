from __future__ import annotations

import pytest
from django.conf import settings

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
