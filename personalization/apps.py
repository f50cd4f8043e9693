from django.apps import AppConfig


class PersonalizationConfig(AppConfig):
    name = "personalization"
    verbose_name = "Personalization"

    def ready(self) -> None:
        from personalization import worker_signals  # noqa: F401 - connects the Celery signals
