"""The steps of a PIN unblock (docs/card-lifecycle.md, "PIN unblock"): the card in the reader
must be the job's card; the signer gives the station the card's managed PUK and a new PIN
(sealed for it, with the new PIN mailer sealed for the holder); the station resets the PIN with
the PUK (RESET RETRY COUNTER) and verifies the new one. Run again, each does the same again:
the PUK does not change."""

from __future__ import annotations

from cardedge.piv.errors import WrongPin
from personalization.runner.steps.base import QualityCheckFailed, StepContext, delivered


def find_card(ctx: StepContext) -> dict:
    """Its CHUID names the job's card (the card holds its UUID as the CHUID GUID)."""
    chuid = ctx.client.read_chuid()
    if chuid.guid != ctx.card.uuid:
        msg = f"the card in the reader is not card {ctx.card.serial}; insert that card"
        raise QualityCheckFailed(msg)
    return {"card": ctx.card.serial}


def reset_pin(ctx: StepContext) -> dict:
    secrets = delivered(ctx)
    client = ctx.client
    try:
        client.unblock_pin(secrets.puk, secrets.pin)
    except WrongPin as refused:
        msg = f"card {ctx.card.serial} refused its PUK ({refused})"
        raise QualityCheckFailed(msg) from None
    client.verify_pin(secrets.pin)
    client.logout()
    return {"pin": "reset and verified"}
