"""Reading card requests and cards for pages and the API."""

from __future__ import annotations

from collections.abc import Collection

from django.db.models import Count, QuerySet

from cards.models import CardActionRequest, CardRequest
from issuance.models import Organisation, Professional

_QUERY_CHUNK = 900  # under SQLite's 999 host-parameter limit of old builds


def card_request_list(
    *, status: str = "", professional: Professional | None = None, search: str = ""
) -> QuerySet:
    requests = CardRequest.objects.select_related(
        "professional", "card_profile", "profile_version", "submitted_by", "decided_by"
    )
    if status:
        requests = requests.filter(status=status)
    if professional is not None:
        requests = requests.filter(professional=professional)
    if search.strip():
        matching = Professional.objects.search(search).values("pk")
        requests = requests.filter(professional__in=matching)
    return requests


def dashboard_counts() -> dict[str, int]:
    by_status = dict(
        CardRequest.objects.values_list("status").annotate(n=Count("pk")).values_list("status", "n")
    )
    return {
        "professionals": Professional.objects.count(),
        "organisations": Organisation.objects.count(),
        "requests_submitted": by_status.get(CardRequest.Status.SUBMITTED, 0),
        "requests_approved": by_status.get(CardRequest.Status.APPROVED, 0),
        "requests_rejected": by_status.get(CardRequest.Status.REJECTED, 0),
        "requests_cancelled": by_status.get(CardRequest.Status.CANCELLED, 0),
    }


def open_requests_holding(professional_ids: Collection[int]) -> dict[int, str]:
    """The open card request of each of these professionals that has one, named for a message
    (issuance/identity_locks.py: while it is open, the identity it carries cannot change)."""
    ids = list(professional_ids)
    found: dict[int, str] = {}
    for start in range(0, len(ids), _QUERY_CHUNK):
        chunk = ids[start : start + _QUERY_CHUNK]
        for card_request in CardRequest.objects.open().filter(professional_id__in=chunk):
            found.setdefault(
                card_request.professional_id,
                f"card request #{card_request.pk} ({card_request.get_status_display().lower()})",
            )
    return found


def card_action_requests(*, status: str = "", card=None) -> QuerySet:
    """Card action requests (suspension, resumption, revocation), newest first."""
    rows = CardActionRequest.objects.select_related(
        "card__professional", "card__card_profile", "requested_by", "decided_by"
    )
    if status:
        rows = rows.filter(status=status)
    if card is not None:
        rows = rows.filter(card=card)
    return rows
