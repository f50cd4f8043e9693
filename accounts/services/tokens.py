"""API tokens: made at sign-in to the API, stored as SHA-256, expired and revoked.

The clear token exists only in the answer to the request that made it. A token dies when it
expires (CARDFORGE_API_TOKEN_TTL_HOURS), when its user's password changes or the user is
deactivated (accounts/signals.py), or when an administrator revokes it.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import ApiToken
from audit.events import EventType
from audit.services import audit_record

PREFIX_LENGTH = 8


def api_token_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def api_token_create(*, user) -> tuple[ApiToken, str]:
    """Make a new token for `user`; returns it and its clear key (shown once, never stored)."""
    key = secrets.token_urlsafe(32)
    now = timezone.now()
    token = ApiToken.objects.create(
        user=user,
        key_hash=api_token_hash(key),
        prefix=key[:PREFIX_LENGTH],
        created_at=now,
        expires_at=now + timedelta(hours=settings.CARDFORGE_API_TOKEN_TTL_HOURS),
    )
    audit_record(
        event=EventType.API_TOKEN_CREATED,
        actor=user,
        obj=user,
        payload={"prefix": token.prefix, "expires_at": token.expires_at.isoformat()},
    )
    return token, key


def api_tokens_revoke_all(*, user, actor=None, cause: str, audit_none: bool = False) -> int:
    """Revoke every live token of `user` (inside the caller's transaction). Audited when a
    token was revoked, or always with `audit_none` (an administrator asked for it)."""
    revoked = ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    if revoked or audit_none:
        audit_record(
            event=EventType.API_TOKENS_REVOKED,
            actor=actor,
            obj=user,
            payload={"username": user.get_username(), "count": revoked, "cause": cause},
        )
    return revoked
