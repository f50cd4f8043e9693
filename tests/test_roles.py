"""Roles are groups whose permissions match accounts/roles.py, also after a database flush."""

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from accounts.roles import ROLE_PERMISSIONS, Role


def _granted() -> dict[str, set[str]]:
    return {
        group.name: {
            f"{app}.{codename}"
            for app, codename in group.permissions.values_list(
                "content_type__app_label", "codename"
            )
        }
        for group in Group.objects.all()
    }


@pytest.mark.django_db
def test_groups_hold_exactly_the_declared_permissions():
    assert _granted() == {role.value: set(perms) for role, perms in ROLE_PERMISSIONS.items()}


@pytest.mark.django_db
def test_auditor_is_read_only():
    """Every permission a view, but asking for a report (which reads the platform and changes
    nothing of it: tests/test_auditor_read_only.py)."""
    writes = [p for p in ROLE_PERMISSIONS[Role.AUDITOR] if not p.split(".")[1].startswith("view_")]
    assert writes == ["reports.add_auditreport"]


@pytest.mark.django_db(transaction=True)
def test_roles_come_back_after_a_flush():
    call_command("flush", interactive=False, verbosity=0)
    assert set(_granted()) == {role.value for role in Role}
