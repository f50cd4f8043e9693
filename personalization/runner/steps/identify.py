"""Step `identify_card`: the card in the reader (an emulated station: a new blank card) becomes
the job's card, recorded in the transaction that journals the step (see identify_card)."""

from __future__ import annotations

from collections.abc import Callable

from django.db import IntegrityError, transaction

from cardedge.piv import CardCapabilities
from cards.models import Card
from cards.services.cards import card_new, card_serial_redraw
from config.statements import update_where
from personalization.emulated_cards import emulated_card_blank
from personalization.models import EncoderStation
from personalization.runner.session import WrongCard
from personalization.runner.steps.base import QualityCheckFailed, StepContext

# A card serial is drawn again when another card holds it (cards/services/cards.py).
SERIAL_DRAWS = 5


def identify_card(ctx: StepContext, record: Callable[[dict], None]) -> dict:
    """Find the blank card (emulated: make one) and record it as the job's card, in the
    transaction that journals the step: a worker killed before it commits leaves no card row,
    and no blank emulated card, behind. The card is read before that transaction, so the
    database never waits on it."""
    if ctx.card is None:
        emulated, state = None, None
        if ctx.job.station.transport == EncoderStation.Transport.EMULATED:
            emulated, state = emulated_card_blank()
        card = card_new(
            card_request=ctx.job.card_request, station=ctx.job.station, emulated_card=emulated
        )
        ctx.session.attach(card, emulated_state=state)
    capabilities = _checked_capabilities(ctx)
    card = ctx.card
    new_emulated = card.emulated_card is not None and card.emulated_card.pk is None
    for draw in range(1, SERIAL_DRAWS + 1):
        try:
            with transaction.atomic():
                if new_emulated:
                    card.emulated_card.save(force_insert=True)
                card.save()
                update_where(type(ctx.job), {"card_id": card.pk}, {"id": ctx.job.pk})
                detail = {
                    "card_serial": card.serial,
                    "chip_serial": card.chip_serial,
                    "version": (
                        ".".join(map(str, capabilities.version)) if capabilities.version else ""
                    ),
                    "yubico_extensions": capabilities.yubico_extensions,
                }
                record(detail)
            break
        except IntegrityError:
            # Rolled back. If another card has this serial, draw again.
            taken = card.pk is None and Card.objects.filter(serial=card.serial).exists()
            if not taken or draw == SERIAL_DRAWS:
                raise
            card_serial_redraw(card)
            if new_emulated:  # its row was rolled back too: insert it again, and refer to that
                emulated = card.emulated_card
                emulated.pk = None
                card.emulated_card = emulated
    ctx.job.card = card
    return detail


def _checked_capabilities(ctx: StepContext) -> CardCapabilities:
    """What the card in the reader says of itself, once it is known to be the job's card (or a
    blank one); sets the card's chip serial and management key algorithm."""
    card = ctx.card
    capabilities = ctx.client.capabilities()
    chip_serial = str(capabilities.serial) if capabilities.serial is not None else ""
    if card.pk is not None and card.chip_serial and chip_serial != card.chip_serial:
        msg = (
            f"the card in the reader (chip {chip_serial or 'unknown'}) is not the job's card "
            f"(chip {card.chip_serial}); put card {card.serial} back"
        )
        raise QualityCheckFailed(msg)
    if ctx.job.station.transport != EncoderStation.Transport.EMULATED and chip_serial:
        _refuse_a_card_in_use(card, chip_serial)
    card.chip_serial = chip_serial
    card.management_key_algorithm = "aes192" if capabilities.aes_management_key else "3des"
    return capabilities


def _refuse_a_card_in_use(card: Card, chip_serial: str) -> None:
    """A reader may hold a card issued earlier, or one another job is making (moved from another
    station's reader): never start on it. (An emulated card is made for its job.)"""
    other = (
        Card.objects.filter(
            chip_serial=chip_serial,
            status__in=[Card.Status.PERSONALIZING, *Card.Status.live_values()],
        )
        .exclude(pk=card.pk)
        .first()
    )
    if other is not None:
        msg = (
            f"the card in the reader (chip {chip_serial}) is card {other.serial}, "
            f"{other.get_status_display().lower()}; insert a blank card"
        )
        raise WrongCard(msg)
