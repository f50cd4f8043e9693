"""What cards adds to issuance's pages (config/pages.py), registered by CardsConfig.ready()."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from cards.forms import CardRequestForm
from cards.selectors import card_request_list
from issuance.models import Professional


def professional_card_requests(request: HttpRequest, professional: Professional) -> dict[str, Any]:
    """A professional's page: their card requests, and the form to ask for a card."""
    return {
        "card_requests": card_request_list(professional=professional),
        "request_form": CardRequestForm(),
    }
