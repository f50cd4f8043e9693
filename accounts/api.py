from django.urls import path
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from accounts.services.tokens import api_token_create


class TokenThrottle(AnonRateThrottle):
    rate = "20/min"


class TokenCreateAPI(APIView):
    """Exchange a username and password for a new API token (sent as `Authorization: Token …`).

    Each call makes a new token, shown only in this answer (only its hash is stored); it expires
    after CARDFORGE_API_TOKEN_TTL_HOURS and dies when the password changes."""

    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [TokenThrottle]

    @extend_schema(
        request=AuthTokenSerializer,
        responses=inline_serializer(
            "ApiToken",
            {
                "token": serializers.CharField(),
                "username": serializers.CharField(),
                "expires_at": serializers.DateTimeField(),
            },
        ),
    )
    def post(self, request):
        serializer = AuthTokenSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        user = serializer.validated_data["user"]
        token, key = api_token_create(user=user)
        return Response(
            {"token": key, "username": user.get_username(), "expires_at": token.expires_at}
        )


urlpatterns = [path("auth/token/", TokenCreateAPI.as_view())]
