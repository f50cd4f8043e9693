"""What holds a professional's identity fixed, registered at start-up.

A card request carries the identity snapshot it was submitted for (identity.py); while it is
open, an edit of those fields would make the registry say one thing and the coming card another,
so the edit waits. Card requests live in `cards`, above this app: `cards` registers, in its
`AppConfig.ready()`, a function that names the open request of each professional asked about.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable

from issuance.identity import SNAPSHOT_FIELDS

# professional ids -> {professional id: what holds its identity, e.g. "card request #12 (approved)"}
IdentityHolders = Callable[[Collection[int]], dict[int, str]]

_holders: list[IdentityHolders] = []

# The fields an edit may not change while something holds the identity.
HELD_FIELDS = frozenset({*SNAPSHOT_FIELDS, "organisation_id"})


def identity_holders_register(holders: IdentityHolders) -> None:
    if holders not in _holders:
        _holders.append(holders)


def identity_holders(professional_ids: Collection[int]) -> dict[int, str]:
    """What holds each of these professionals' identities (the first holder found), if any."""
    found: dict[int, str] = {}
    for holders in _holders:
        for professional_id, holder in holders(professional_ids).items():
            found.setdefault(professional_id, holder)
    return found


def identity_edit_refusal(
    professional_id: int, changed: Iterable[str], holders: dict[int, str] | None = None
) -> str | None:
    """Why changing `changed` of this professional must wait, or None. `holders` is what
    `identity_holders` answered for a batch (an import asks once for all its rows)."""
    fields = sorted(set(changed) & HELD_FIELDS)
    if not fields:
        return None
    if holders is None:
        holders = identity_holders([professional_id])
    holder = holders.get(professional_id)
    if holder is None:
        return None
    return (
        f"{holder} was submitted for this identity; {', '.join(fields)} cannot change until "
        "it is cancelled, rejected or its card is made"
    )
