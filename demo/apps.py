from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo set-up (`bootstrap_demo`), at the top of the dependency order: it fills every
    app below it, so none of them imports it (docs/architecture.md)."""

    name = "demo"
    verbose_name = "Demo"
