"""TOTP second factor (RFC 6238, through django-otp) for those who can approve or administer.

Who needs it: `second_factor_required`. A session of such a user that has not passed the code step
gets no page and no API call (accounts/middleware.py); the token endpoint asks for the code in the
same request as the password (`token_credentials_check`). A wrong code counts as a failed sign-in
towards the lockout (accounts/lockout.py), so the password cannot be used to try codes without
end. The first sign-in of a user without a confirmed device enrols one: the otpauth:// URI as a
QR code and as text, confirmed by a first code. The device's key is never logged or audited.
"""

from __future__ import annotations

import base64

import django_otp
from axes.handlers.proxy import AxesProxyHandler
from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_login_failed
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.lockout import AccountLocked, client_ip, lock_message
from accounts.privileges import ADMINISTRATION_PERMISSIONS
from audit.events import EventType
from audit.services import audit_record
from config.errors import Conflict, NotAllowed, ValidationFailed

DEVICE_NAME = "authenticator app"
WRONG_CODE = "The code is wrong or has expired: type the six digits your app shows now."


# Administering users and roles, as the administrator role does (accounts/roles.py).
# The same powers that make a user privileged (accounts/privileges.py), as "app.codename".
_ADMINISTERING = frozenset(f"{app}.{codename}" for app, codename in ADMINISTRATION_PERMISSIONS)


def second_factor_required(user) -> bool:
    """Approving (any `decide_*` permission) or administering (user administration, staff,
    superuser) needs a second factor. Permissions, not group names, as everywhere: a role given
    either power later needs the code from its next request on."""
    if not user.is_authenticated:
        return False
    if user.is_superuser or user.is_staff:
        return True
    perms = user.get_all_permissions()  # cached on the user for the request's later checks
    return not _ADMINISTERING.isdisjoint(perms) or any(
        perm.split(".", 1)[1].startswith("decide_") for perm in perms
    )


def confirmed_device(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def _refuse_if_locked(request, user) -> None:
    if AxesProxyHandler.is_locked(request, credentials={"username": user.get_username()}):
        raise AccountLocked(lock_message())


def _code_failed(request, user) -> None:
    """A wrong code is a failed sign-in: audited (accounts/signals.py) and counted by axes."""
    user_login_failed.send(
        sender=__name__,
        credentials={"username": user.get_username(), "second_factor": True},
        request=request,
    )
    if getattr(request, "axes_locked_out", False):
        raise AccountLocked(lock_message())
    raise NotAllowed(WRONG_CODE, field="otp", code="otp_invalid")


def _check_code(request, user, device: TOTPDevice, code: str) -> None:
    """Verify `code` on `device` (locked, so one code verifies once), or raise."""
    _refuse_if_locked(request, user)
    code = (code or "").strip().replace(" ", "")
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update(no_key=True).get(pk=device.pk)
        allowed, _ = device.verify_is_allowed()
        if not allowed:
            # django-otp's own back-off after wrong codes (1 s, 2 s, 4 s, ...): not a new guess.
            raise NotAllowed(
                "Too many wrong codes in a row: wait a few seconds, then type the code again.",
                field="otp",
                code="otp_throttled",
            )
        verified = code.isdigit() and device.verify_token(code)
    if not verified:
        _code_failed(request, user)


def _audit_verified(request, user, device: TOTPDevice, *, via: str) -> None:
    audit_record(
        event=EventType.SECOND_FACTOR_VERIFIED,
        actor=user,
        obj=user,
        payload={"device": device.name, "via": via, "ip": client_ip(request)},
    )


def session_second_factor_verify(*, request, code: str) -> None:
    """The code step of the login form: on the right code the session is verified (and gets a
    new key, as a privilege change should). Raises AccountLocked, NotAllowed or Conflict."""
    user = request.user
    device = confirmed_device(user)
    if device is None:
        raise Conflict("Enrol an authenticator app first.", code="otp_enrolment_required")
    _check_code(request, user, device, code)
    with transaction.atomic():
        django_otp.login(request, device)
        request.session.cycle_key()
        _audit_verified(request, user, device, via="session")


def enrolment_device(user) -> TOTPDevice:
    """The unconfirmed device being enrolled (created on the first visit, the same afterwards so
    a reload shows the secret the app may already hold). Refused once a device is confirmed:
    the password alone must never register a new authenticator."""
    if confirmed_device(user) is not None:
        raise Conflict("An authenticator app is already enrolled.", code="otp_already_enrolled")
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    return device or TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)


def session_second_factor_enrol(*, request, code: str) -> None:
    """Confirm the device being enrolled with its first code; the session is then verified."""
    user = request.user
    device = enrolment_device(user)
    _check_code(request, user, device, code)
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=False).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        audit_record(
            event=EventType.SECOND_FACTOR_ENROLLED,
            actor=user,
            obj=user,
            payload={"username": user.get_username(), "device": device.name},
        )
        django_otp.login(request, device)
        request.session.cycle_key()
        _audit_verified(request, user, device, via="enrolment")


def secret_text(device: TOTPDevice) -> str:
    """The key as an authenticator app asks for it by hand: base32 in groups of four."""
    secret = base64.b32encode(device.bin_key).decode("ascii").rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def qr_code_svg(device: TOTPDevice) -> str:
    """The otpauth:// URI as an inline SVG QR code (no image request, nothing cached)."""
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(
        device.config_url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2
    )
    return image.to_string(encoding="unicode")


def token_credentials_check(
    *, request, username: str, password: str, otp: str = "", via: str = "token"
):
    """The user the API's token endpoint may issue a token to, or an error.

    `request` is Django's HttpRequest (not DRF's wrapper) so that django-axes, which records its
    findings on the request, is seen by its middleware. The code is asked for only once the
    password is right; a wrong one counts towards the lockout like a wrong password.
    """
    user = authenticate(request, username=username, password=password)
    if user is None:
        if getattr(request, "axes_locked_out", False):
            raise AccountLocked(lock_message())
        raise ValidationFailed([], message="Unable to log in with provided credentials.")
    if not second_factor_required(user):
        return user
    device = confirmed_device(user)
    if device is None:
        raise NotAllowed(
            "otp: this account needs a second factor; sign in to the back office once to "
            "enrol an authenticator app",
            field="otp",
            code="otp_enrolment_required",
        )
    if not otp:
        raise NotAllowed(
            "otp: this account needs the code from its authenticator app",
            field="otp",
            code="otp_required",
        )
    _check_code(request, user, device, otp)
    with transaction.atomic():
        _audit_verified(request, user, device, via=via)
    return user
