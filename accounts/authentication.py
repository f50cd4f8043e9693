"""`Authorization: Token <key>` against accounts.ApiToken (hashed, expiring, revocable)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from accounts.models import ApiToken
from accounts.services.tokens import api_token_hash

# last_used_at is written at most this often per token: not one UPDATE per API call.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class ApiTokenAuthentication(TokenAuthentication):
    """DRF's header parsing and 401 challenge; the lookup is by the key's SHA-256."""

    keyword = "Token"
    model = ApiToken

    def authenticate_credentials(self, key):
        token = (
            ApiToken.objects.active()
            .select_related("user")
            .filter(key_hash=api_token_hash(key))
            .first()
        )
        # One message for unknown, expired and revoked tokens: it tells a guesser nothing.
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked token.")
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token
