"""What happens to a card whose making stops for good."""

from __future__ import annotations

from personalization.models import Card
from pki.reasons import RevocationReason
from pki.services.revocation import card_certificates_revoke


def card_fail(*, card: Card | None, comment: str, by=None) -> list[str]:
    """A card still being personalized will never be finished (its job failed, or was
    abandoned by `by`): it becomes failed and every certificate issued for it is revoked
    (cessationOfOperation). The serials revoked; none for a card in any other state. Call it in
    the transaction that ends the job."""
    if card is None or card.status != Card.Status.PERSONALIZING:
        return []
    card.status = Card.Status.FAILED
    card.save(update_fields=["status"])
    return card_certificates_revoke(
        card=card, reason=RevocationReason.CESSATION_OF_OPERATION, comment=comment, by=by
    )
