from django.apps import AppConfig


class CardsConfig(AppConfig):
    name = "cards"
    verbose_name = "Cards"

    def ready(self) -> None:
        # What cards adds below it, registered rather than imported (docs/architecture.md).
        from cards import checks  # noqa: F401 - the system check that an approval has a hook
        from cards.pages import professional_card_requests
        from cards.selectors import open_requests_holding
        from config.pages import page_context_register
        from issuance.identity_locks import identity_holders_register

        page_context_register("professional-detail", professional_card_requests)
        identity_holders_register(open_requests_holding)
