"""What cards adds to issuance's pages (config/pages.py), registered by CardsConfig.ready()."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from cards.forms import CardRequestForm
from cards.models import Card
from cards.selectors import card_request_list
from issuance.models import Professional


def professional_card_requests(request: HttpRequest, professional: Professional) -> dict[str, Any]:
    """A professional's page: the cards they hold (every state), their card requests, and the
    form to ask for a card."""
    return {
        "cards": Card.objects.filter(professional=professional)
        .select_related("card_profile")
        .order_by("-created_at", "-pk"),
        "card_requests": card_request_list(professional=professional),
        "request_form": CardRequestForm(),
    }
