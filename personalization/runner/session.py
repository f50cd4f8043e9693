"""The card a job works on, reached through its station's transport.

A `CardSession` connects lazily, selects the PIV application, and authenticates with the
management key only when a step needs it (that status is volatile: a reconnection after a crash
loses it). It knows which key the card holds from the journal: the factory key until the
rotation step is done, the derived key after, and it tries the other one if the card refuses.

On an emulated station the card keeps its changes in a `StepCardStore` until `save_card`, which
the runner calls in the transaction that records each step: the card in the database moves
with the journal. A physical card keeps whatever it did before a crash; the runner's steps
handle both (a card ahead of its journal by part of a step, or not).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from django.conf import settings

from cardedge.apdu.errors import CardError
from cardedge.piv import ManagementKey, PivClient
from cardedge.piv.errors import ManagementKeyAuthenticationFailed
from cardedge.transports import CardTransport, transport_class
from cards.models import Card
from personalization.emulated_cards import StepCardStore, emulated_card_open
from personalization.factory import factory_management_key
from personalization.models import EncoderStation

logger = logging.getLogger(__name__)


def reader_selector(pattern: str) -> str | re.Pattern[str]:
    """A station's reader pattern as the PC/SC transport takes it: a regular expression if it
    looks like one, otherwise a name (exact, or a case-insensitive part of one)."""
    return re.compile(pattern) if any(c in pattern for c in "^$*[(|\\") else pattern


def station_transport(
    station: EncoderStation, card: Card | None, *, store: StepCardStore | None = None
) -> CardTransport:
    """A new transport to the station's card, of the class settings.CARDFORGE_STATION_TRANSPORTS
    names for the station's kind: the job's own card (emulated, kept by `store`, by default one
    that saves every change at once) or the station's reader (pcsc)."""
    config = settings.CARDFORGE_STATION_TRANSPORTS[station.transport]
    transport = transport_class(config["BACKEND"])
    options = dict(config.get("OPTIONS", {}))
    if station.transport == EncoderStation.Transport.EMULATED:
        if card is None or card.emulated_card is None:
            msg = "an emulated station needs the job's emulated card"
            raise ValueError(msg)
        return transport(emulated_card_open(card.emulated_card, store=store), **options)
    if station.reader_pattern:
        options["reader"] = reader_selector(station.reader_pattern)
    return transport(**options)


class WrongCard(CardError):
    """The card in the reader is not the card the job started on."""


class CardSession:
    def __init__(self, station: EncoderStation, *, rotated: bool = False) -> None:
        self.station = station
        self.card: Card | None = None
        self.rotated = rotated
        self._transport: CardTransport | None = None
        self._client: PivClient | None = None
        self._store: StepCardStore | None = None
        self._admin = False
        # Set by the engine: the signer's delivery of the card's management key.
        self.delivered_key: Callable[[], ManagementKey] | None = None
        self._emulated_state: dict | None = None

    @property
    def apdu_count(self) -> int:
        return self._client.apdu_count if self._client is not None else 0

    def attach(self, card: Card, *, emulated_state: dict | None = None) -> None:
        """Work on `card`; `emulated_state`: the state of its emulated card when that is new
        and not saved yet (`emulated_card_blank`)."""
        self.card = card
        self._emulated_state = emulated_state

    @property
    def client(self) -> PivClient:
        if self._client is None:
            card = self.card
            if self.station.transport == EncoderStation.Transport.EMULATED and (
                card is not None and card.emulated_card is not None
            ):
                self._store = StepCardStore(card.emulated_card, state=self._emulated_state)
                self._emulated_state = None
            self._transport = station_transport(self.station, self.card, store=self._store)
            self._client = PivClient.connect(self._transport)
            self._check_card(self._client)
        return self._client

    def _check_card(self, client: PivClient) -> None:
        """A job that already recorded its card (resumed after a crash) goes on only with that
        card: a station's reader may hold another one by now. Nothing is written before this."""
        card = self.card
        if card is None or card.pk is None:
            return  # a new card: identify_card records which one it is
        if not card.chip_serial:
            msg = (
                f"the job's card {card.serial} has no chip serial on record, so the card in the "
                "reader cannot be told from it; the job cannot go on"
            )
            raise WrongCard(msg)
        serial = client.capabilities().serial
        if serial is None or str(serial) != card.chip_serial:
            msg = (
                f"the card in the reader (chip {serial if serial is not None else 'unknown'}) is "
                f"not the job's card {card.serial} (chip {card.chip_serial}); nothing was written "
                "to it"
            )
            raise WrongCard(msg)

    def seal_card(self) -> None:
        """Seal the emulated card's changes ahead of `save_card`, outside the transaction."""
        if self._store is not None:
            self._store.seal_pending()

    def save_card(self) -> None:
        """Write the emulated card's changes in the caller's transaction (nothing to do for a
        physical card, which keeps its own)."""
        if self._store is not None:
            self._store.flush()

    def management_key(self) -> ManagementKey:
        return self.derived_key() if self.rotated else factory_management_key()

    def derived_key(self) -> ManagementKey:
        """The card's own management key, derived by the signer from the master key and
        delivered for this station (personalization/deliveries.py); the engine says where to
        find it (`deliveries`), since only a run past the signer's step has one."""
        if self.delivered_key is None:
            msg = "the card's management key was not delivered: the signer's step has not run"
            raise ManagementKeyAuthenticationFailed(msg)
        return self.delivered_key()

    def reauthenticate(self) -> None:
        """Authenticate again with the key the card should now hold (proves a rotation)."""
        self._admin = False
        self.client.authenticate(self.management_key())
        self._admin = True

    def ensure_admin(self) -> None:
        """Authenticate with the key the card should hold; on refusal, try the other one (the
        journal may lag the card by one step after a crash)."""
        if self._admin:
            return
        try:
            self.client.authenticate(self.management_key())
        except ManagementKeyAuthenticationFailed:
            if not (self.card and self.card.management_key_algorithm):
                raise
            self.rotated = not self.rotated
            self.client.authenticate(self.management_key())
        self._admin = True

    def close(self) -> None:
        if self._transport is not None:
            try:
                self._transport.disconnect(reset=True)
            except Exception:
                logger.debug("disconnect after the job failed", exc_info=True)
        self._transport = None
        self._client = None
        self._store = None
        self._admin = False
        self._derived = None
