from __future__ import annotations

from django.db.models import Count, QuerySet

from cardprofiles.models import CardProfile, CardProfileVersion


def card_profile_list(*, active_only: bool = False) -> QuerySet[CardProfile]:
    profiles = CardProfile.objects.annotate(version_count=Count("versions")).order_by("name")
    return profiles.filter(is_active=True) if active_only else profiles


def card_profile_versions(*, profile: CardProfile) -> QuerySet[CardProfileVersion]:
    return profile.versions.annotate(request_count=Count("card_requests")).order_by("-number")
