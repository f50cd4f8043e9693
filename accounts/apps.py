from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    """Listed last in INSTALLED_APPS: its post_migrate runs when every permission exists."""

    name = "accounts"
    verbose_name = "Users and roles"

    def ready(self) -> None:
        from accounts import checks, signals  # noqa: F401  (registers checks, connects handlers)
        from accounts.roles import sync_role_groups

        post_migrate.connect(sync_role_groups, sender=self, dispatch_uid="accounts.sync_roles")
