from django.apps import AppConfig


class PkiConfig(AppConfig):
    name = "pki"
    verbose_name = "PKI"

    def ready(self) -> None:
        from pki import checks  # noqa: F401  (registers the PKI settings checks)
