"""Renewal: a card inside its profile's renewal window (`renewal_window_days`, 90 by default)
before it expires is due for renewal, once (docs/card-lifecycle.md, "Renewal").

The scheduled task (`cards.tasks.renewals_due`) finds them; by CARDFORGE_RENEWALS it then
either tells the holder by e-mail (and the dashboard lists the card until an officer asks for
the renewal), or submits the renewal request itself as CARDFORGE_RENEWALS_SUBMITTED_BY. A
renewal request is a card request like any other: it snapshots the holder's identity and another
officer approves it; the new card, once its holder activates it, supersedes the old one, which
stays valid until then.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from audit.events import EventType
from audit.services import audit_record
from cardprofiles.schema import renewal_window_days
from cards.models import Card, CardRequest
from cards.services.card_requests import card_request_submit
from config.errors import DomainError

logger = logging.getLogger(__name__)

# A card is renewed while its holder uses it: delivered or active (not suspended: a holder under
# investigation is not renewed by a scheduler).
RENEWABLE = (Card.Status.DELIVERED, Card.Status.ACTIVE)
MODES = ("notify", "request")
LONGEST_WINDOW = dt.timedelta(days=365)  # the schema's maximum


def cards_expiring(*, within: dt.timedelta, now: dt.datetime | None = None):
    """Cards in use (personalized, delivered, active, suspended) that expire within `within`,
    soonest first: the dashboard's list."""
    now = now or timezone.now()
    return (
        Card.objects.live()
        .filter(expires_at__lte=now + within)
        .select_related("professional", "card_profile")
        .order_by("expires_at", "pk")
    )


def _renewal_under_way(card: Card) -> bool:
    """An open request of its profile for its holder, or a newer card of it being made or in
    use: the renewal is already asked for (or done)."""
    professional, profile = card.professional_id, card.card_profile_id
    return (
        CardRequest.objects.open().filter(professional_id=professional, card_profile_id=profile)
    ).exists() or (
        Card.objects.filter(
            professional_id=professional,
            card_profile_id=profile,
            created_at__gt=card.created_at,
            status__in=[Card.Status.PERSONALIZING, *Card.Status.live_values()],
        ).exists()
    )


def cards_due_for_renewal(*, now: dt.datetime | None = None) -> list[Card]:
    """Renewable cards inside their profile version's renewal window with no renewal under
    way, soonest expiry first."""
    now = now or timezone.now()
    candidates = (
        Card.objects.filter(status__in=RENEWABLE, expires_at__lte=now + LONGEST_WINDOW)
        .select_related("professional", "card_profile", "profile_version")
        .order_by("expires_at", "pk")
    )
    return [
        card
        for card in candidates
        if card.expires_at - dt.timedelta(days=renewal_window_days(card.profile_version.definition))
        <= now
        and not _renewal_under_way(card)
    ]


@dataclass
class RenewalsRun:
    noticed: list[str] = field(default_factory=list)  # serials found due for the first time
    requested: list[int] = field(default_factory=list)  # renewal requests submitted
    problems: list[str] = field(default_factory=list)  # what could not be done, and why


def _submitter():
    username = settings.CARDFORGE_RENEWALS_SUBMITTED_BY
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None or not user.has_perm("cards.add_cardrequest"):
        msg = (
            f"CARDFORGE_RENEWALS=request needs CARDFORGE_RENEWALS_SUBMITTED_BY to name an active "
            f"account with the enrolment officer's role, not {username!r}"
        )
        raise DomainError(msg)
    return user


def _tell_the_holder(card: Card) -> None:
    professional = card.professional
    if not professional.email:
        return
    expires = f"{timezone.localtime(card.expires_at):%Y-%m-%d}"
    send_mail(
        subject=f"Your card {card.serial} expires on {expires}",
        message=(
            f"Dear {professional.full_name},\n\n"
            f"your {card.card_profile.display_name} card (serial {card.serial}) expires on "
            f"{expires}. Your registration office will "
            "prepare its renewal; keep using your card until you receive and activate the new "
            "one, which replaces it at that moment.\n"
        ),
        from_email=None,
        recipient_list=[professional.email],
        fail_silently=False,
    )


def renewals_run(*, now: dt.datetime | None = None) -> RenewalsRun:
    """Note each card newly due (audited), then tell its holder or submit its renewal request,
    by CARDFORGE_RENEWALS. Each card once: a renewal rejected by an officer is not asked again."""
    now = now or timezone.now()
    mode = settings.CARDFORGE_RENEWALS
    run = RenewalsRun()
    due = [card for card in cards_due_for_renewal(now=now) if card.renewal_due_at is None]
    submitter = None
    if mode == "request" and due:
        try:
            submitter = _submitter()
        except DomainError as error:
            logger.error("renewals: %s", error.message)
            run.problems.append(error.message)
            return run
    for card in due:
        with transaction.atomic():
            if not Card.objects.filter(pk=card.pk, renewal_due_at__isnull=True).update(
                renewal_due_at=now
            ):
                continue  # another run noted it meanwhile
            audit_record(
                event=EventType.CARD_RENEWAL_DUE,
                obj=card,
                payload={
                    "serial": card.serial,
                    "expires_at": card.expires_at.isoformat(),
                    "mode": mode,
                },
            )
        run.noticed.append(card.serial)
        try:
            if submitter is not None:
                request = card_request_submit(
                    professional=card.professional,
                    profile=card.card_profile,
                    reason=CardRequest.Reason.RENEWAL,
                    comment=f"renewal of card {card.serial}, which expires on "
                    f"{timezone.localtime(card.expires_at):%Y-%m-%d}",
                    by=submitter,
                )
                run.requested.append(request.pk)
            else:
                _tell_the_holder(card)
        except (DomainError, OSError) as error:
            message = getattr(error, "message", None) or str(error)
            logger.warning("renewal of card %s: %s", card.serial, message)
            run.problems.append(f"card {card.serial}: {message}")
    return run
