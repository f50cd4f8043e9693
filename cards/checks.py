"""System checks of the cards app."""

from django.conf import settings
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


@register()
def renewals_are_configured(app_configs, **kwargs):
    from cards.services.renewals import MODES

    mode = settings.CARDFORGE_RENEWALS
    if mode not in MODES:
        return [
            Error(
                f"CARDFORGE_RENEWALS is {mode!r}",
                hint=f"Set it to one of: {', '.join(MODES)}.",
                id="cards.E002",
            )
        ]
    if mode == "request" and not settings.CARDFORGE_RENEWALS_SUBMITTED_BY:
        return [
            Error(
                "CARDFORGE_RENEWALS=request, but no account submits the renewal requests",
                hint="Set CARDFORGE_RENEWALS_SUBMITTED_BY to the username of an account with "
                "the enrolment officer's role.",
                id="cards.E003",
            )
        ]
    return []
