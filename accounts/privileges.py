"""Which roles and users are privileged: they can approve something or administer accounts.

Computed from permissions, never from group names, so a role that later gains a `decide_*`
permission becomes privileged without touching this module.
"""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db.models import Q

# Holding any of these administers the platform's users (and so their access).
ADMINISTRATION_PERMISSIONS = frozenset(
    {
        ("auth", "add_user"),
        ("auth", "change_user"),
        ("auth", "change_group"),
        ("auth", "add_group"),
        ("auth", "change_permission"),
    }
)


def _privileged_permission_filter(prefix: str = "") -> Q:
    query = Q(**{f"{prefix}codename__startswith": "decide_"})
    for app_label, codename in ADMINISTRATION_PERMISSIONS:
        query |= Q(**{f"{prefix}content_type__app_label": app_label, f"{prefix}codename": codename})
    return query


def privileged_permissions():
    return Permission.objects.filter(_privileged_permission_filter())


def role_is_privileged(group: Group) -> bool:
    """A role is privileged when one of its permissions decides (approves) or administers."""
    return group.permissions.filter(_privileged_permission_filter()).exists()


def privileged_roles() -> list[Group]:
    return list(
        Group.objects.filter(_privileged_permission_filter("permissions__"))
        .distinct()
        .order_by("name")
    )


def user_is_privileged(user) -> bool:
    """Superusers, and users holding a privileged role or privileged permission directly."""
    if user.is_superuser:
        return True
    return (
        user.groups.filter(_privileged_permission_filter("permissions__")).exists()
        or user.user_permissions.filter(_privileged_permission_filter()).exists()
    )
