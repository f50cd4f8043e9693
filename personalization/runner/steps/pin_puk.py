"""Step `set_pin_puk`: the PIN and PUK the signer made (and sealed in the card's PIN mailer
before the card learns them); run again, it proves the card already holds them instead of
changing them twice."""

from __future__ import annotations

from cardedge.piv.errors import WrongPin
from personalization.factory import factory_pin, factory_puk
from personalization.runner.steps.base import StepContext, delivered


def set_pin_puk(ctx: StepContext) -> dict:
    client = ctx.client
    pin, puk = delivered(ctx).pin, delivered(ctx).puk
    retries_set = False
    try:
        client.verify_pin(factory_pin())
    except WrongPin:
        # Resumed after a crash: the card already took the new PIN; prove it.
        client.verify_pin(pin)
    else:
        if client.capabilities().yubico_extensions:
            ctx.session.ensure_admin()
            # Yubico SET PIN RETRIES resets PIN and PUK to the factory values: do it first.
            client.set_pin_retries(ctx.profile["pin"]["retries"], ctx.profile["puk"]["retries"])
            retries_set = True
            client.verify_pin(factory_pin())
        client.change_pin(factory_pin(), pin)
    try:
        client.change_puk(factory_puk(), puk)
    except WrongPin:
        # The card already holds the new PUK: RESET RETRY COUNTER with it proves it.
        client.unblock_pin(puk, pin)
    return {
        "pin_length": ctx.profile["pin"]["length"],
        "pin_retries": ctx.profile["pin"]["retries"] if retries_set else "card default",
        "puk_retries": ctx.profile["puk"]["retries"] if retries_set else "card default",
    }
