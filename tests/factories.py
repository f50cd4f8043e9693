"""Builders for test data. Professionals get valid RPPS numbers from a counter."""

from __future__ import annotations

import itertools

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from accounts.roles import Role
from issuance.models import Organisation, Professional
from issuance.professions import Profession
from issuance.validators import finess_check_digit, luhn_check_digit

_rpps_counter = itertools.count(1)


def valid_rpps(number: int | None = None) -> str:
    payload = f"8{(number if number is not None else next(_rpps_counter)):09d}"
    return payload + luhn_check_digit(payload)


def valid_finess(number: int, department: str = "91") -> str:
    """A FINESS number with its check digit (issuance/validators.py)."""
    payload = f"{department}{number:06d}"
    return payload + finess_check_digit(payload)


def make_user(role: Role | None, username: str | None = None, **extra):
    user = get_user_model().objects.create_user(
        username=username or f"{role.slug if role else 'norole'}-{next(_rpps_counter)}",
        password="correct horse battery staple",
        **extra,
    )
    if role is not None:
        user.groups.add(Group.objects.get(name=role.value))
    return user


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"Clinique n°{n}")
    finess = factory.Sequence(valid_finess)


class ProfessionalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Professional

    rpps = factory.LazyFunction(valid_rpps)
    last_name = factory.Faker("last_name", locale="fr_FR")
    first_name = factory.Faker("first_name", locale="fr_FR")
    profession = Profession.PHYSICIAN
    email = factory.LazyAttribute(lambda p: f"{p.rpps}@example.org")
    city = "Paris"
    postal_code = "75001"
    address_line1 = "1 rue de Rivoli"


def make_totp_device(user):
    """A confirmed TOTP device for `user`, as enrolment leaves it."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)


def totp_code(key: bytes, *, steps_ahead: int = 0) -> str:
    """The code an authenticator app shows now for `key` (`device.bin_key`); `steps_ahead=1`
    is the next period's code, which the device also accepts (tolerance 1) when this one has
    been used already."""
    from django_otp.oath import totp

    return f"{totp(key, drift=steps_ahead):06d}"


def sign_in_verified(client, user) -> None:
    """Sign the test client in as `user` with the second factor passed, as password + TOTP
    leave a session: `force_login` plus a real confirmed TOTP device recorded in the session
    (approving officers and administrators get no page without it)."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or make_totp_device(user)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


def password_works(username: str, password: str) -> bool:
    """Whether `password` signs `username` in (the password step; through django-axes, which
    needs a request)."""
    from django.contrib.auth import authenticate
    from django.test import RequestFactory

    request = RequestFactory().post("/login/")
    return authenticate(request=request, username=username, password=password) is not None
