"""No page and no API call for an approving officer or administrator before the code step.

After the password a session is signed in but not verified (django-otp's `is_verified()`). For
users who need a second factor (accounts/second_factor.py) this middleware sends such a session
to the code step (or to enrolment, for a user without a device yet) from every page, the Django
admin included, and answers API calls made with it 403 `otp_required`. Token-authenticated API
calls carry no session: their token was issued only after the code was checked.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

from accounts.second_factor import confirmed_device, second_factor_required

# The steps themselves, and a way out.
_OPEN_URL_NAMES = ("login-totp", "login-totp-enrol", "logout")


class SecondFactorRequiredMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if (
            user.is_authenticated
            and not user.is_verified()
            and request.path not in {reverse(name) for name in _OPEN_URL_NAMES}
            and second_factor_required(user)
        ):
            return self._refuse(request, user)
        return self.get_response(request)

    @staticmethod
    def _refuse(request, user):
        if request.path.startswith("/api/"):
            return JsonResponse(
                {
                    "code": "otp_required",
                    "message": "Sign in with the code from your authenticator app first.",
                    "errors": [],
                },
                status=403,
            )
        step = "login-totp" if confirmed_device(user) else "login-totp-enrol"
        return redirect(f"{reverse(step)}?{urlencode({'next': request.get_full_path()})}")
