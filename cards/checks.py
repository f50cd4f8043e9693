"""System checks of the cards app."""

from django.core.checks import Error, register

from cards.approvals import approval_hooks


@register()
def approval_has_a_hook(app_configs, **kwargs):
    if approval_hooks():
        return []
    return [
        Error(
            "No approval hook is registered: an approved card request would never be made into "
            "a card.",
            hint="Install the personalization app (it registers one in its AppConfig.ready()).",
            id="cards.E001",
        )
    ]
