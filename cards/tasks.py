"""The cards app's scheduled work (CELERY_BEAT_SCHEDULE in config/settings.py)."""

from __future__ import annotations

from celery import shared_task

from cards.services.cards import cards_expire
from cards.services.renewals import renewals_run


@shared_task(ignore_result=True)
def expire_cards() -> list[str]:
    """Live cards past their expiry become expired (hourly); the serials it expired."""
    return cards_expire()


@shared_task(ignore_result=True)
def renewals_due() -> dict:
    """Cards newly inside their renewal window: their holders told, or their renewal requests
    submitted (CARDFORGE_RENEWALS); every six hours."""
    run = renewals_run()
    return {"noticed": run.noticed, "requested": run.requested, "problems": run.problems}
