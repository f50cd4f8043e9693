from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from issuance.models import CardRequest, Organisation, Professional


def professional_list(*, search: str = "", profession: int | None = None) -> QuerySet:
    professionals = Professional.objects.select_related("organisation").search(search)
    if profession is not None:
        professionals = professionals.filter(profession=profession)
    return professionals


def organisation_list(*, search: str = "") -> QuerySet:
    organisations = Organisation.objects.annotate(
        professional_count=Count("professionals")
    ).order_by("name", "pk")
    if search.strip():
        organisations = organisations.filter(
            Q(name__icontains=search.strip()) | Q(finess__startswith=search.strip())
        )
    return organisations


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
