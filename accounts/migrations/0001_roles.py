"""The five roles and what each may do (see accounts/roles.py and docs/architecture.md)."""

from django.db import migrations

from accounts.roles import Role, grant_role_permissions

REGISTRY_VIEW = ["issuance.view_organisation", "issuance.view_professional"]
PROFILES_VIEW = ["cardprofiles.view_cardprofile", "cardprofiles.view_cardprofileversion"]
REQUESTS_VIEW = ["issuance.view_cardrequest"]

GRANTS = {
    Role.ENROLMENT_OFFICER.value: [
        *REGISTRY_VIEW,
        *PROFILES_VIEW,
        *REQUESTS_VIEW,
        "issuance.add_organisation",
        "issuance.change_organisation",
        "issuance.add_professional",
        "issuance.change_professional",
        "issuance.import_professionals",
        "issuance.add_cardrequest",
        "issuance.cancel_cardrequest",
    ],
    Role.APPROVING_OFFICER.value: [
        *REGISTRY_VIEW,
        *PROFILES_VIEW,
        *REQUESTS_VIEW,
        "issuance.decide_cardrequest",
    ],
    Role.ENCODING_OPERATOR.value: [*REGISTRY_VIEW, *PROFILES_VIEW, *REQUESTS_VIEW],
    Role.AUDITOR.value: [
        *REGISTRY_VIEW,
        *PROFILES_VIEW,
        *REQUESTS_VIEW,
        "audit.view_auditevent",
    ],
    Role.ADMINISTRATOR.value: [
        *REGISTRY_VIEW,
        *PROFILES_VIEW,
        *REQUESTS_VIEW,
        "audit.view_auditevent",
        "issuance.add_organisation",
        "issuance.change_organisation",
        "issuance.add_professional",
        "issuance.change_professional",
        "issuance.import_professionals",
        "issuance.add_cardrequest",
        "issuance.cancel_cardrequest",
        "issuance.decide_cardrequest",
        "cardprofiles.add_cardprofile",
        "cardprofiles.change_cardprofile",
        "cardprofiles.add_cardprofileversion",
        "auth.view_user",
        "auth.add_user",
        "auth.change_user",
        "auth.view_group",
    ],
}


def create_roles(apps, schema_editor):
    grant_role_permissions(
        apps,
        GRANTS,
        app_labels=["auth", "audit", "cardprofiles", "issuance"],
    )


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=list(GRANTS)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("audit", "0001_initial"),
        ("cardprofiles", "0001_initial"),
        ("issuance", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
