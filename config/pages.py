"""What a higher app adds to a lower app's page, registered at start-up.

Apps depend one way (docs/architecture.md): a card request's page (cards) cannot import what
personalization knows about it, and a professional's page (issuance) cannot import the card
requests. Instead, the higher app registers, in its `AppConfig.ready()`, a provider for the
page: `provider(request, subject) -> dict`, whose keys the page's template uses. The page's view
merges `page_context(page, request, subject)` into its context. A provider may also annotate
the subject's rows (a list page's rows) in place.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest

PageProvider = Callable[[HttpRequest, Any], dict[str, Any]]

_providers: dict[str, list[PageProvider]] = defaultdict(list)


def page_context_register(page: str, provider: PageProvider) -> None:
    """Add `provider`'s context to page `page` (a URL name); once, however often asked."""
    if provider not in _providers[page]:
        _providers[page].append(provider)


def page_context(page: str, request: HttpRequest, subject: Any) -> dict[str, Any]:
    context: dict[str, Any] = {}
    for provider in _providers.get(page, ()):
        context.update(provider(request, subject))
    return context
