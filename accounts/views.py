"""Sign-in: the password (Django's LoginView, watched by django-axes), then for approving officers
and administrators the TOTP code, or the enrolment of an authenticator app at the first sign-in."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache

from accounts.forms import CodeForm
from accounts.lockout import AccountLocked, lockout_response
from accounts.second_factor import (
    confirmed_device,
    enrolment_device,
    qr_code_svg,
    second_factor_required,
    secret_text,
    session_second_factor_enrol,
    session_second_factor_verify,
)
from config.errors import Conflict, NotAllowed


def _next_url(request) -> str:
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _step_url(name: str, next_url: str) -> str:
    return f"{reverse(name)}?{urlencode({'next': next_url})}"


class SignInView(LoginView):
    """The password step. Users who need a second factor go on to the code (or enrolment)."""

    redirect_authenticated_user = True

    def get_success_url(self):
        url = super().get_success_url()
        user = self.request.user
        # Just signed in: the bare user, not yet wrapped by django-otp's middleware.
        verified = getattr(user, "is_verified", lambda: False)()
        if second_factor_required(user) and not verified:
            step = "login-totp" if confirmed_device(user) else "login-totp-enrol"
            return _step_url(step, url)
        return url


def _locked(request):
    logout(request)  # the half-signed-in session goes; the lock says why
    return lockout_response(request)


def _code_step(request, check, template: str, context: dict | None = None):
    """A step that takes a code from the authenticator app: `check` (a second_factor service)
    verifies it; a lock signs the half-signed-in session out, a wrong code shows on the form."""
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            check(request=request, code=form.cleaned_data["otp_token"])
        except AccountLocked:
            return _locked(request)
        except NotAllowed as error:
            form.add_error("otp_token", error.message)
        else:
            return redirect(_next_url(request))
    return render(request, template, {"form": form, "next": _next_url(request), **(context or {})})


@never_cache
@login_required
def totp_view(request):
    if request.user.is_verified() or not second_factor_required(request.user):
        return redirect(_next_url(request))
    if confirmed_device(request.user) is None:
        return redirect(_step_url("login-totp-enrol", _next_url(request)))
    return _code_step(request, session_second_factor_verify, "registration/totp.html")


@never_cache
@login_required
def totp_enrol_view(request):
    if not second_factor_required(request.user):
        return redirect(_next_url(request))
    try:
        device = enrolment_device(request.user)
    except Conflict:
        return redirect(_step_url("login-totp", _next_url(request)))
    return _code_step(
        request,
        session_second_factor_enrol,
        "registration/totp_enrol.html",
        {"qr_svg": qr_code_svg(device), "secret": secret_text(device)},
    )
