"""PKI permissions for the five roles (see accounts/roles.py and docs/pki.md).

Auditors and administrators see everything of the PKI; enrolment officers ask for revocations,
approving officers decide them (never their own: four eyes, enforced by the service and the
database); encoding operators see certificates.
"""

from django.db import migrations

from accounts.roles import Role, grant_role_permissions

PKI_VIEW_ALL = [
    "pki.view_certificateauthority",
    "pki.view_certificate",
    "pki.view_revocationrequest",
    "pki.view_certificaterevocationlist",
    "pki.view_ocspresponder",
]

GRANTS = {
    Role.ENROLMENT_OFFICER.value: [
        "pki.view_certificateauthority",
        "pki.view_certificate",
        "pki.view_revocationrequest",
        "pki.request_revocation",
    ],
    Role.APPROVING_OFFICER.value: [
        "pki.view_certificateauthority",
        "pki.view_certificate",
        "pki.view_revocationrequest",
        "pki.decide_revocation",
    ],
    Role.ENCODING_OPERATOR.value: ["pki.view_certificateauthority", "pki.view_certificate"],
    Role.AUDITOR.value: PKI_VIEW_ALL,
    Role.ADMINISTRATOR.value: [
        *PKI_VIEW_ALL,
        "pki.request_revocation",
        "pki.decide_revocation",
    ],
}


def grant(apps, schema_editor):
    grant_role_permissions(apps, GRANTS, app_labels=["pki"])


def revoke(apps, schema_editor):
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    for role_name, perms in GRANTS.items():
        group = group_model.objects.filter(name=role_name).first()
        if group is None:
            continue
        codenames = [perm.split(".", 1)[1] for perm in perms]
        group.permissions.remove(
            *permission_model.objects.filter(
                content_type__app_label="pki", codename__in=codenames
            )
        )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_roles"),
        ("pki", "0001_initial"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
