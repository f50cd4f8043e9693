"""The Django admin: administrators edit card profiles as YAML (new version each time) and
grant roles; both are audited. The registry is read-only there."""

import pytest
import yaml
from django.contrib.auth.models import Group

from accounts.models import PrivilegedChange
from accounts.roles import Role
from accounts.services.tokens import api_token_create
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


def test_granting_a_privileged_role_is_asked_for_and_audited_with_who_asked(admin_client, users):
    target = make_user(None, username="newcomer")
    response = admin_client.post(
        f"/admin/auth/user/{target.pk}/change/",
        {
            "username": "newcomer",
            "email": "newcomer@example.org",
            "is_active": "on",
            "groups": [Group.objects.get(name=Role.APPROVING_OFFICER.value).pk],
            "date_joined_0": "2026-11-29",
            "date_joined_1": "08:00:00",
        },
        follow=True,
    )
    assert response.status_code == 200, response.content
    assert "second administrator" in response.content.decode()
    assert not target.groups.exists()
    event = AuditEvent.objects.get(event=EventType.PRIVILEGED_CHANGE_REQUESTED)
    assert event.actor == "administrator"
    assert event.payload["role"] == "approving officer"
    assert event.payload["email"] == "newcomer@example.org"


def test_registry_is_read_only_in_the_admin(admin_client, professional):
    assert admin_client.get("/admin/issuance/professional/add/").status_code == 403
    page = admin_client.get(f"/admin/issuance/professional/{professional.pk}/change/")
    assert page.status_code == 200
    assert 'name="last_name"' not in page.content.decode()


def test_the_user_form_offers_no_direct_permissions_nor_superuser_status(admin_client, users):
    page = admin_client.get(f"/admin/auth/user/{users[Role.AUDITOR].pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="groups"' in html
    assert 'name="user_permissions"' not in html
    assert 'name="is_superuser"' not in html


def test_a_privileged_users_password_page_asks_instead_of_setting(admin_client, users):
    approver = users[Role.APPROVING_OFFICER]
    page = admin_client.get(f"/admin/auth/user/{approver.pk}/password/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "second administrator" in html
    assert 'name="password1"' not in html
    # Its e-mail address, where the link will go, is not editable in the admin either.
    change_page = admin_client.get(f"/admin/auth/user/{approver.pk}/change/").content.decode()
    assert 'name="email"' not in change_page


def test_a_second_administrator_approves_in_the_admin(admin_client, users, client):
    approver = users[Role.APPROVING_OFFICER]
    approver.email = "approver@example.org"
    approver.save()
    admin_client.post(f"/admin/auth/user/{approver.pk}/password/", {})
    (change,) = PrivilegedChange.objects.pending()
    listing = admin_client.get("/admin/accounts/privilegedchange/")
    assert listing.status_code == 200
    assert "approver@example.org" in listing.content.decode()
    assert (
        admin_client.get(f"/admin/accounts/privilegedchange/{change.pk}/change/").status_code == 200
    )
    own = admin_client.post(
        "/admin/accounts/privilegedchange/",
        {"action": "approve", "_selected_action": [change.pk]},
        follow=True,
    )
    assert "another administrator" in own.content.decode()
    second = make_user(Role.ADMINISTRATOR, username="second-admin", is_staff=True)
    sign_in_verified(client, second)
    client.post(
        "/admin/accounts/privilegedchange/",
        {"action": "approve", "_selected_action": [change.pk]},
    )
    change.refresh_from_db()
    assert (change.status, change.decided_by) == ("approved", second)
    approver.refresh_from_db()
    assert not approver.has_usable_password()


def test_adding_a_user_in_the_admin_still_works_and_is_audited(admin_client):
    response = admin_client.post(
        "/admin/auth/user/add/",
        {
            "username": "fresh",
            "usable_password": "true",
            "password1": "a long enough passphrase 7",
            "password2": "a long enough passphrase 7",
        },
    )
    assert response.status_code == 302, response.content
    event = AuditEvent.objects.get(event=EventType.USER_ACCESS_CHANGED, object_id__isnull=False)
    assert event.payload["username"] == "fresh"
    assert event.payload["before"] is None


def test_api_tokens_are_listed_by_prefix_only(admin_client, users):
    _, key = api_token_create(user=users[Role.AUDITOR])
    page = admin_client.get("/admin/accounts/apitoken/").content.decode()
    assert key[:8] in page
    assert key not in page
