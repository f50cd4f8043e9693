from django.apps import AppConfig


class PersonalizationConfig(AppConfig):
    name = "personalization"
    verbose_name = "Personalization"

    def ready(self) -> None:
        from cards.approvals import approval_hook_register, unblock_hook_register
        from config.pages import page_context_register
        from personalization import worker_signals  # noqa: F401 - connects the Celery signals
        from personalization.pages import card_request_jobs, card_request_rows
        from personalization.services.jobs import job_create_on_approval, unblock_job_create

        # An approved request gets its job in the approval's transaction (cards/approvals.py).
        approval_hook_register(job_create_on_approval)
        unblock_hook_register(unblock_job_create)
        page_context_register("card-request-list", card_request_rows)
        page_context_register("card-request-detail", card_request_jobs)
