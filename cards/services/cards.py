"""What happens to a card whose making stops for good, or that a newer card replaces."""

from __future__ import annotations

from dataclasses import dataclass

from cards.models import Card, PinMailer
from pki.reasons import RevocationReason
from pki.services.revocation import card_certificates_revoke


@dataclass(frozen=True)
class CardEnded:
    """What ending a card did, for the caller's audit event."""

    revoked: list[str]  # serials of the certificates revoked
    pin_mailer_destroyed: bool  # its sealed PIN and PUK, never downloaded, destroyed


def card_fail(*, card: Card | None, comment: str, by=None) -> CardEnded:
    """A card still being personalized will never be finished (its job failed, or was
    abandoned by `by`): it becomes failed, every certificate issued for it is revoked
    (cessationOfOperation) and its PIN mailer destroyed. Nothing for a card in any other state.
    Call it in the transaction that ends the job."""
    if card is None or card.status != Card.Status.PERSONALIZING:
        return CardEnded(revoked=[], pin_mailer_destroyed=False)
    card.status = Card.Status.FAILED
    card.save(update_fields=["status"])
    return CardEnded(
        revoked=card_certificates_revoke(
            card=card, reason=RevocationReason.CESSATION_OF_OPERATION, comment=comment, by=by
        ),
        pin_mailer_destroyed=card_pin_mailer_destroy(card),
    )


def card_pin_mailer_destroy(card: Card) -> bool:
    """Destroy the sealed PIN and PUK of a card that will never be used (failed, replaced) if
    its PIN mailer was not downloaded: nobody can download it any more (documents are made for
    personalized cards only), and a secret nobody can use is not kept. True if one was.
    Call it in the transaction that ends the card, which audits it."""
    return bool(PinMailer.objects.filter(card=card, sealed__isnull=False).update(sealed=None))
