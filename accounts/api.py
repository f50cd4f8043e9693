from django.db import transaction
from django.urls import path
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from audit.events import EventType
from audit.services import audit_record


class TokenThrottle(AnonRateThrottle):
    rate = "20/min"


class TokenCreateAPI(APIView):
    """Exchange a username and password for an API token (sent as `Authorization: Token …`)."""

    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [TokenThrottle]

    @extend_schema(
        request=AuthTokenSerializer,
        responses=inline_serializer(
            "ApiToken", {"token": serializers.CharField(), "username": serializers.CharField()}
        ),
    )
    def post(self, request):
        serializer = AuthTokenSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        user = serializer.validated_data["user"]
        with transaction.atomic():
            token, created = Token.objects.get_or_create(user=user)
            if created:
                audit_record(event=EventType.API_TOKEN_CREATED, actor=user, obj=user)
        return Response({"token": token.key, "username": user.get_username()})


urlpatterns = [path("auth/token/", TokenCreateAPI.as_view())]
