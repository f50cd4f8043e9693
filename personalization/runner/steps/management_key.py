"""Step `rotate_management_key`: the factory management key replaced by the card's derived one
(runner/session.py); when the card already answers to the derived key, only the proof is
made again."""

from __future__ import annotations

from personalization.runner.steps.base import StepContext


def rotate_management_key(ctx: StepContext) -> dict:
    """Replace the factory key with the card's derived key, then prove the card holds it."""
    session = ctx.session
    session.ensure_admin()
    if not session.rotated:
        new_key = session.derived_key()
        ctx.client.set_management_key(new_key)
        session.rotated = True
    session.reauthenticate()
    return {"management_key": "derived", "algorithm": ctx.card.management_key_algorithm}
