import yaml
from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import get_object_or_404, render

from cardprofiles.models import CardProfile
from cardprofiles.selectors import card_profile_list, card_profile_versions
from config.converters import parse_id


@login_required
@permission_required("cardprofiles.view_cardprofile", raise_exception=True)
def card_profile_list_view(request):
    return render(request, "cardprofiles/list.html", {"profiles": card_profile_list()})


@login_required
@permission_required("cardprofiles.view_cardprofile", raise_exception=True)
def card_profile_detail_view(request, name: str):
    profile = get_object_or_404(CardProfile, name=name)
    versions = card_profile_versions(profile=profile)
    number = parse_id(request.GET.get("version"))
    shown = versions.filter(number=number).first() if number is not None else None
    shown = shown or versions.first()
    return render(
        request,
        "cardprofiles/detail.html",
        {
            "profile": profile,
            "versions": versions,
            "shown": shown,
            "shown_yaml": yaml.safe_dump(shown.definition, sort_keys=False, allow_unicode=True)
            if shown
            else "",
        },
    )
