"""The platform's roles: Django groups, each granted a fixed set of permissions.

Code checks permissions (`user.has_perm("issuance.decide_cardrequest")`), never group names, so a
role is changed here and in a migration, not across the code base. Migrations call
`grant_role_permissions` with the permissions that exist at that point of the schema.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ENROLMENT_OFFICER = "enrolment officer"
    APPROVING_OFFICER = "approving officer"
    ENCODING_OPERATOR = "encoding operator"
    AUDITOR = "auditor"
    ADMINISTRATOR = "administrator"

    @property
    def slug(self) -> str:
        return self.value.replace(" ", "-")


def grant_role_permissions(apps, grants: dict[str, list[str]], *, app_labels: list[str]) -> None:
    """Create the groups and give each the listed "app_label.codename" permissions.

    For use in data migrations: permissions are normally created after `migrate`, so they are
    created here for `app_labels` first. A listed permission that does not exist is an error.
    """
    from django.apps import apps as global_apps
    from django.contrib.auth.management import create_permissions

    for label in app_labels:
        # The global app config says the app has models; `apps` gives their historical state.
        create_permissions(global_apps.get_app_config(label), verbosity=0, apps=apps)

    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    for role_name, perms in grants.items():
        group, _ = group_model.objects.get_or_create(name=role_name)
        for dotted in perms:
            app_label, codename = dotted.split(".", 1)
            permission = permission_model.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if permission is None:
                msg = f"role {role_name!r}: permission {dotted} does not exist"
                raise LookupError(msg)
            group.permissions.add(permission)
