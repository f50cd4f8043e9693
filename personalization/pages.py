"""What personalization adds to card request pages (config/pages.py), registered by
PersonalizationConfig.ready(): each request's latest job and the forms that queue requests on a
station."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from cards.models import CardRequest
from personalization.forms import BatchQueueForm, QueueForm
from personalization.selectors import (
    can_be_queued,
    card_request_personalization,
    latest_jobs_by_request,
)


def card_request_rows(request: HttpRequest, page: Any) -> dict[str, Any]:
    """The list of requests: each row's latest job and whether it can be queued (set on the
    rows), and the bulk queueing form (personalization/views/jobs.py takes its posts)."""
    jobs = latest_jobs_by_request(page)
    for card_request in page:
        card_request.latest_job = jobs.get(card_request.pk)
        card_request.queueable = can_be_queued(card_request, card_request.latest_job)
    return {
        "can_queue": request.user.has_perm("personalization.add_personalizationjob"),
        "queue_form": BatchQueueForm(),
    }


def card_request_jobs(request: HttpRequest, card_request: CardRequest) -> dict[str, Any]:
    """One request: its jobs with the latest one's progress, and the form to queue it."""
    return {
        "personalization": card_request_personalization(card_request),
        "queue_form": QueueForm(),
    }
