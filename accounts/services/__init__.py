"""Account services: users and roles here and in access.py, privileged changes under dual
control in privileged.py, API tokens in tokens.py."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from accounts.roles import Role
from accounts.services.access import user_role_grant_bootstrap


@dataclass(frozen=True)
class NewLogin:
    username: str
    role: Role
    password: str | None  # set only when the user was created now


@transaction.atomic
def user_ensure_with_role(*, username: str, role: Role, full_name: str = "") -> NewLogin:
    """Create `username` in `role` with a random password, or leave an existing user alone."""
    user_model = get_user_model()
    user = user_model.objects.filter(username=username).first()
    password = None
    if user is None:
        first, _, last = full_name.partition(" ")
        password = secrets.token_urlsafe(12)
        user = user_model.objects.create_user(
            username=username, password=password, first_name=first, last_name=last
        )
    # A setup command: the role is granted at once, audited as a bootstrap grant (an
    # administrator's grant of a privileged role waits for a second one: access.py).
    user_role_grant_bootstrap(user=user, role=Group.objects.get(name=role.value))
    return NewLogin(username, role, password)
