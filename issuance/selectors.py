from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from issuance.models import Organisation, Professional


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
