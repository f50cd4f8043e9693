"""The Django admin: administrators edit card profiles as YAML (new version each time) and
grant roles; both are audited. The registry is read-only there."""

import pytest
import yaml
from django.contrib.auth.models import Group

from accounts.roles import Role
from audit.events import EventType
from audit.models import AuditEvent
from cardprofiles.models import CardProfile
from tests.factories import make_user, sign_in_verified

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, users):
    admin_user = users[Role.ADMINISTRATOR]
    admin_user.is_staff = True
    admin_user.save()
    sign_in_verified(client, admin_user)
    return client


def test_editing_a_profile_in_the_admin_makes_a_new_version(admin_client, profiles):
    profile = profiles["hpc-rsa"]
    definition = dict(profile.current_version.definition, validity_days=400)
    response = admin_client.post(
        f"/admin/cardprofiles/cardprofile/{profile.pk}/change/",
        {"is_active": "on", "definition_yaml": yaml.safe_dump(definition)},
    )
    assert response.status_code == 302, response.content
    assert profile.versions.count() == 2
    assert profile.current_version.validity_days == 400


def test_an_invalid_yaml_definition_is_shown_and_changes_nothing(admin_client, profiles):
    profile = profiles["hpc-rsa"]
    definition = dict(profile.current_version.definition)
    definition["pin"] = {"length": 4, "retries": 3}
    response = admin_client.post(
        f"/admin/cardprofiles/cardprofile/{profile.pk}/change/",
        {"is_active": "on", "definition_yaml": yaml.safe_dump(definition)},
    )
    assert response.status_code == 200
    assert "pin.length: 4 is less than the minimum of 6" in response.content.decode()
    assert profile.versions.count() == 1


def test_deactivating_a_profile_is_audited(admin_client, profiles):
    profile = profiles["hpc-rsa"]
    admin_client.post(
        f"/admin/cardprofiles/cardprofile/{profile.pk}/change/",
        {"definition_yaml": yaml.safe_dump(profile.current_version.definition)},
    )
    assert not CardProfile.objects.get(pk=profile.pk).is_active
    event = AuditEvent.objects.get(event=EventType.CARD_PROFILE_STATUS_CHANGED)
    assert event.payload == {"name": "hpc-rsa", "active": False}


def test_granting_a_role_is_audited_with_who_did_it(admin_client, users):
    target = make_user(None, username="newcomer")
    response = admin_client.post(
        f"/admin/auth/user/{target.pk}/change/",
        {
            "username": "newcomer",
            "is_active": "on",
            "groups": [Group.objects.get(name=Role.APPROVING_OFFICER.value).pk],
            "date_joined_0": "2026-11-29",
            "date_joined_1": "08:00:00",
        },
    )
    assert response.status_code == 302, response.content
    event = AuditEvent.objects.get(event=EventType.USER_ACCESS_CHANGED)
    assert event.actor == "administrator"
    assert event.payload["before"]["roles"] == []
    assert event.payload["after"]["roles"] == ["approving officer"]


def test_registry_is_read_only_in_the_admin(admin_client, professional):
    assert admin_client.get("/admin/issuance/professional/add/").status_code == 403
    page = admin_client.get(f"/admin/issuance/professional/{professional.pk}/change/")
    assert page.status_code == 200
    assert 'name="last_name"' not in page.content.decode()
