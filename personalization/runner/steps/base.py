"""What every step shares: the context a run hands from step to step, the step itself, the
error a card that does not hold what was written raises, and what the signer delivered and the
certificates it issued, loaded once per run for the steps that read them (set_pin_puk, the
import of central keys, write_objects, rotate_management_key, quality_check).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography import x509

from cards.models import Card
from issuance.identity import Identity
from personalization.deliveries import Delivery, delivery_open
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
    # What the signer made for the card (its PIN and PUK, central keys, management key), once
    # opened in this run (see delivered).
    delivery: Delivery | None = field(default=None, repr=False)
    # The card's attestation (F9) certificate, once read in this run (runner/attestation.py).
    attestation_device: dict[str, str] = field(default_factory=dict, repr=False)
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
    run: Callable[..., dict] | None
    # Steps that write the database record themselves, in the same transaction as their journal
    # entry (the runner then passes them a `record` callback).
    records_itself: bool = False
    # The signer's step (docs/signer.md): run by the signer, which journals it; `run` is None.
    on_signer: bool = False


def delivered(ctx: StepContext) -> Delivery:
    """What the signer made for this card and only this station opens (PIN and PUK, central
    keys, the management key: personalization/deliveries.py), opened once per run."""
    if ctx.delivery is None:
        ctx.delivery = delivery_open(ctx.job)
    return ctx.delivery


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
