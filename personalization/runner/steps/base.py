"""What every step shares: the context a run hands from step to step, the step itself, the
error a card that does not hold what was written raises, and the context's PIN/PUK and
certificates, loaded once per run for the steps that read them (set_pin_puk, write_objects,
quality_check).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography import x509

from cardedge.piv import Pin, Puk
from cards.models import Card, PinMailer
from cards.services.secrets import pin_mailer_seal, pin_mailer_secrets
from issuance.identity import Identity
from personalization.runner.session import CardSession
from pki.models import Certificate


class QualityCheckFailed(Exception):
    """The card does not hold what was written to it: it must not be marked good."""


@dataclass
class StepContext:
    job: object  # PersonalizationJob
    session: CardSession
    profile: dict
    journal: dict[str, dict]
    # The card's issued certificates by slot, once loaded in this run (see card_certificates).
    certificates: dict[str, x509.Certificate] | None = field(default=None, repr=False)
    # The card's PIN and PUK, once sealed in (or read from) its PIN mailer in this run.
    secrets: tuple[Pin, Puk] | None = field(default=None, repr=False)
    # The identity the request was approved for (runner/approval.py), checked at the start of
    # this run; everything the card says about its holder comes from it.
    identity: Identity | None = field(default=None, repr=False)

    @property
    def card(self) -> Card:
        return self.session.card

    @property
    def client(self):
        return self.session.client

    @property
    def slots(self) -> dict[str, dict]:
        return self.profile["slots"]


@dataclass(frozen=True)
class Step:
    name: str
    run: Callable[[StepContext], dict]
    # Steps that write the database record themselves, in the same transaction as their journal
    # entry (the runner then passes them a `record` callback).
    records_itself: bool = False


def mailer_secrets(ctx: StepContext) -> tuple[Pin, Puk]:
    """The card's new PIN and PUK, sealed in its PIN mailer before the card learns them, so a
    crash after the change cannot lose them. Kept in the context for the rest of the run (the
    quality check verifies the PIN), read back from the mailer when the job resumes."""
    if ctx.secrets is None:
        ctx.secrets = mailer_secrets_load(ctx)
    return ctx.secrets


def mailer_secrets_load(ctx: StepContext) -> tuple[Pin, Puk]:
    card = ctx.card
    mailer = PinMailer.objects.filter(card=card).first()
    if mailer is None:
        pin = Pin.generate(ctx.profile["pin"]["length"])
        puk = Puk.generate(ctx.profile["puk"]["length"])
        pin_mailer_seal(card=card, pin=pin, puk=puk)
        return pin, puk
    mailer.card = card  # the same row: no second query for the serial the seal is bound to
    return pin_mailer_secrets(mailer)


def card_certificates(ctx: StepContext) -> dict[str, x509.Certificate]:
    """The certificates the journal says were issued, loaded once per run (they never change:
    writing them and checking them read back compare with the same DER)."""
    if ctx.certificates is None:
        ids = ctx.journal["issue_certificates"]["certificates"]
        rows = Certificate.objects.in_bulk(ids.values())
        ctx.certificates = {
            slot: x509.load_der_x509_certificate(bytes(rows[pk].der)) for slot, pk in ids.items()
        }
    return ctx.certificates
