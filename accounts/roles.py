"""The platform's roles: Django groups, each granted a fixed set of permissions.

Code checks permissions (`user.has_perm("cards.decide_cardrequest")`), never group names, so a
role is changed here, not across the code base. ROLE_PERMISSIONS is the living declaration:
after every `migrate` (and every test-database flush) `sync_role_groups` makes the groups match
it exactly. Migrations create the groups with the permissions of their time, through
`grant_role_permissions`.
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


_REGISTRY_VIEW = ["issuance.view_organisation", "issuance.view_professional"]
_PROFILES_VIEW = ["cardprofiles.view_cardprofile", "cardprofiles.view_cardprofileversion"]
_REQUESTS_VIEW = ["cards.view_cardrequest"]
_PKI_VIEW = ["pki.view_certificateauthority", "pki.view_certificate"]
_PKI_VIEW_ALL = [
    *_PKI_VIEW,
    "pki.view_revocationrequest",
    "pki.view_certificaterevocationlist",
    "pki.view_ocspresponder",
]
# Auditor reports (reports/): asking for one reads the platform and changes nothing of it.
_REPORTS = ["reports.view_auditreport", "reports.add_auditreport"]
_CARDS_VIEW = [
    "cards.view_card",
    "cards.view_cardactionrequest",
    "personalization.view_personalizationjob",
    "personalization.view_jobbatch",
    "personalization.view_jobstep",
    "personalization.view_encoderstation",
]
_ENCODING = [
    "personalization.add_personalizationjob",
    "personalization.retry_personalizationjob",
    "personalization.cancel_personalizationjob",
    "personalization.abandon_personalizationjob",
    "cards.download_card_documents",
    "cards.download_pinmailer",
    "cards.deliver_card",
    "cards.destroy_card",
]
_ENROLMENT = [
    "issuance.add_organisation",
    "issuance.change_organisation",
    "issuance.add_professional",
    "issuance.change_professional",
    "issuance.import_professionals",
    "cards.add_cardrequest",
    "cards.cancel_cardrequest",
]

ROLE_PERMISSIONS: dict[Role, list[str]] = {
    Role.ENROLMENT_OFFICER: [
        *_REGISTRY_VIEW,
        *_PROFILES_VIEW,
        *_REQUESTS_VIEW,
        *_ENROLMENT,
        *_PKI_VIEW,
        "pki.view_revocationrequest",
        "pki.request_revocation",
        *_CARDS_VIEW,
        "cards.deliver_card",
        "cards.request_cardaction",
    ],
    Role.APPROVING_OFFICER: [
        *_REGISTRY_VIEW,
        *_PROFILES_VIEW,
        *_REQUESTS_VIEW,
        "cards.decide_cardrequest",
        *_PKI_VIEW,
        "pki.view_revocationrequest",
        "pki.decide_revocation",
        *_CARDS_VIEW,
        "cards.decide_cardactionrequest",
        "cards.view_keyrecoveryrequest",
        "cards.decide_keyrecovery",
    ],
    Role.ENCODING_OPERATOR: [
        *_REGISTRY_VIEW,
        *_PROFILES_VIEW,
        *_REQUESTS_VIEW,
        *_PKI_VIEW,
        *_CARDS_VIEW,
        *_ENCODING,
    ],
    Role.AUDITOR: [
        *_REGISTRY_VIEW,
        *_PROFILES_VIEW,
        *_REQUESTS_VIEW,
        "audit.view_auditevent",
        *_PKI_VIEW_ALL,
        *_CARDS_VIEW,
        "cards.view_pinmailer",
        "cards.view_keyrecoveryrequest",
        *_REPORTS,
    ],
    Role.ADMINISTRATOR: [
        *_REGISTRY_VIEW,
        *_PROFILES_VIEW,
        *_REQUESTS_VIEW,
        *_ENROLMENT,
        "cards.decide_cardrequest",
        "audit.view_auditevent",
        *_REPORTS,
        *_PKI_VIEW_ALL,
        "pki.request_revocation",
        "pki.decide_revocation",
        *_CARDS_VIEW,
        *_ENCODING,
        "cards.request_cardaction",
        "cards.decide_cardactionrequest",
        "cards.revoke_card_emergency",
        "cards.view_keyrecoveryrequest",
        "cards.request_keyrecovery",
        "cards.decide_keyrecovery",
        "cards.view_pinmailer",
        "personalization.add_encoderstation",
        "personalization.change_encoderstation",
        "cardprofiles.add_cardprofile",
        "cardprofiles.change_cardprofile",
        "cardprofiles.add_cardprofileversion",
        "auth.view_user",
        "auth.add_user",
        "auth.change_user",
        "auth.view_group",
        # Privileged account changes: one administrator asks, another decides (never their own
        # request, never a change to their own account: accounts/services/privileged.py).
        "accounts.view_privilegedchange",
        "accounts.decide_privilegedchange",
        "accounts.view_apitoken",
    ],
}


def sync_role_groups(**kwargs) -> None:
    """Make every role's group hold exactly its declared permissions (post_migrate handler)."""
    from django.contrib.auth.models import Group, Permission

    wanted = {dotted for perms in ROLE_PERMISSIONS.values() for dotted in perms}
    found = {
        f"{app_label}.{codename}": pk
        for pk, app_label, codename in Permission.objects.values_list(
            "pk", "content_type__app_label", "codename"
        )
    }
    missing = sorted(wanted - set(found))
    if missing:
        msg = f"roles name permissions that do not exist: {', '.join(missing)}"
        raise LookupError(msg)
    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role.value)
        group.permissions.set([found[dotted] for dotted in perms])
