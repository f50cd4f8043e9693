from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from cardprofiles.models import CardProfile, CardProfileVersion
from cardprofiles.selectors import card_profile_list, card_profile_versions
from config.api import ServiceAPIView


class VersionOutput(serializers.ModelSerializer):
    in_use = serializers.BooleanField(source="is_in_use")

    class Meta:
        model = CardProfileVersion
        fields = ["number", "digest", "source", "created_at", "in_use", "definition"]


class CardProfileOutput(serializers.ModelSerializer):
    current_version = VersionOutput(allow_null=True)

    class Meta:
        model = CardProfile
        fields = ["name", "display_name", "is_active", "created_at", "current_version"]


class CardProfileDetailOutput(CardProfileOutput):
    versions = serializers.SerializerMethodField()

    class Meta(CardProfileOutput.Meta):
        fields = [*CardProfileOutput.Meta.fields, "versions"]

    def get_versions(self, profile) -> list[dict]:
        return VersionOutput(card_profile_versions(profile=profile), many=True).data


class CardProfileListAPI(ServiceAPIView):
    required_permissions = {"GET": "cardprofiles.view_cardprofile"}

    @extend_schema(responses=CardProfileOutput(many=True))
    def get(self, request):
        return self.paginate(request, card_profile_list(), CardProfileOutput)


class CardProfileDetailAPI(ServiceAPIView):
    required_permissions = {"GET": "cardprofiles.view_cardprofile"}

    @extend_schema(responses=CardProfileDetailOutput)
    def get(self, request, name: str):
        profile = get_object_or_404(CardProfile, name=name)
        return Response(CardProfileDetailOutput(profile).data)


urlpatterns = [
    path("card-profiles/", CardProfileListAPI.as_view()),
    path("card-profiles/<slug:name>/", CardProfileDetailAPI.as_view()),
]
