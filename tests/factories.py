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
