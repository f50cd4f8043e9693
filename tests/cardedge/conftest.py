"""Fixtures for the card edge.

`transport` / `client` are parametrized: every test that uses them runs against the in-process
emulator and, marked `pcsc`, through pyscard → private pcscd → vpcd → `manage.py emulate_card`
(the session's `pcsc_harness`, in tests/conftest.py: the personalization tests use it too).
Each test starts from a factory-fresh card (the PC/SC card is reset with the card's own Yubico
RESET, see cards.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cardedge.emulator import FactorySettings, PivCardEmulator
from cardedge.piv import PivClient
from cardedge.transports.base import CardTransport
from cardedge.transports.emulated import EmulatedTransport
from tests.cardedge.cards import factory_reset
from tests.cardedge.certificates import ThrowawayCa
from tests.cardedge.pcsc_harness import PcscCardHarness


def _pcsc_transport(harness: PcscCardHarness) -> CardTransport:
    from cardedge.transports.pcsc import PcscTransport

    transport = PcscTransport(harness.reader_name)
    transport.connect()
    factory_reset(PivClient.connect(transport))
    transport.disconnect(reset=True)
    transport.connect()
    return transport


@pytest.fixture(params=["emulated", pytest.param("pcsc", marks=pytest.mark.pcsc)])
def transport(request: pytest.FixtureRequest) -> Iterator[CardTransport]:
    """A connected transport to a factory-fresh card (PIN 123456, PUK 12345678, 3DES 9B key)."""
    if request.param == "emulated":
        card_transport: CardTransport = EmulatedTransport(PivCardEmulator())
        card_transport.connect()
    else:
        card_transport = _pcsc_transport(request.getfixturevalue("pcsc_harness"))
    yield card_transport
    card_transport.disconnect()


@pytest.fixture
def client(transport: CardTransport) -> PivClient:
    return PivClient.connect(transport)


@pytest.fixture
def plain_piv_client() -> PivClient:
    """A card without Yubico extensions (as most non-Yubico PIV cards)."""
    transport = EmulatedTransport(PivCardEmulator(yubico_extensions=False))
    return PivClient.connect(transport)


@pytest.fixture(scope="session")
def test_ca() -> ThrowawayCa:
    return ThrowawayCa.create()


@pytest.fixture
def emulator() -> PivCardEmulator:
    """A raw emulator for APDU-level tests (deterministic serial)."""
    return PivCardEmulator(factory=FactorySettings(serial=12345678))
