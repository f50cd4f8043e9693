"""PKI use cases, split by domain: cas (hierarchy, OCSP responders), certificates (issuance),
revocation (four-eyes requests and revocation), crl, ocsp, keys (card management keys)."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

from django.contrib.auth.models import AnonymousUser

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# Who a service acts for: the signed-in user of a request (DRF's `request.user`), or None for
# the system (a personalization job, the schedule, an emergency action at the command line).
Actor: TypeAlias = "User | AnonymousUser | None"


def acting_user(by: Actor) -> User | None:
    """The user to record as having acted: `by` when signed in, None for the system."""
    if isinstance(by, AnonymousUser) or not getattr(by, "is_authenticated", False):
        return None
    return by
