"""Step `authenticate`: with the management key the card holds (the card session tries the
one the journal names, then the other), so running it again simply authenticates again."""

from __future__ import annotations

from personalization.runner.steps.base import StepContext


def authenticate(ctx: StepContext) -> dict:
    ctx.session.ensure_admin()
    return {"management_key": "derived" if ctx.session.rotated else "factory"}
