from django.urls import path
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from accounts.second_factor import token_credentials_check
from accounts.services.tokens import api_token_create


class TokenThrottle(AnonRateThrottle):
    rate = "20/min"


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False)
    otp = serializers.CharField(
        max_length=10,
        required=False,
        allow_blank=True,
        help_text="The code of the user's authenticator app: required for approving officers "
        "and administrators.",
    )


class TokenCreateAPI(APIView):
    """Exchange a username and password (and, for approving officers and administrators, the
    code of their authenticator app) for a new API token (sent as `Authorization: Token …`).

    Each call makes a new token, shown only in this answer (only its hash is stored); it expires
    after CARDFORGE_API_TOKEN_TTL_HOURS and dies when the password changes. Failures count
    towards the sign-in lockout; a locked account is answered 429 `account_locked`."""

    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [TokenThrottle]

    @extend_schema(
        request=TokenRequestSerializer,
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
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        # Django's own request: django-axes records the lockout on it for its middleware.
        user = token_credentials_check(request=request._request, **serializer.validated_data)
        token, key = api_token_create(user=user)
        return Response(
            {"token": key, "username": user.get_username(), "expires_at": token.expires_at}
        )


urlpatterns = [path("auth/token/", TokenCreateAPI.as_view())]
