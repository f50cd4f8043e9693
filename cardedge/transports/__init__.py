"""Card transports behind one interface (`CardTransport`), chosen by alias like Django's CACHES.

`open_transport("emulated")`, `open_transport("pcsc", reader="Virtual PCD")`, or a dotted path
to any CardTransport subclass. No Django.
"""

from __future__ import annotations

import importlib
from typing import Any

from cardedge.transports.base import CardIdentity, CardTransport
from cardedge.transports.errors import (
    CardCommunicationError,
    CardRemoved,
    CardReset,
    NoCardInReader,
    NotConnected,
    PcscUnavailable,
    ReaderBusy,
    ReaderNotFound,
    TransportError,
)

TRANSPORTS = {
    "emulated": "cardedge.transports.emulated.EmulatedTransport",
    "pcsc": "cardedge.transports.pcsc.PcscTransport",
}


def transport_class(name: str) -> type[CardTransport]:
    """The transport class for an alias (`emulated`, `pcsc`) or a dotted path."""
    path = TRANSPORTS.get(name, name)
    module_name, _, class_name = path.rpartition(".")
    if not module_name:
        msg = f"unknown card transport {name!r} (known: {', '.join(TRANSPORTS)})"
        raise ValueError(msg)
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError):
        msg = f"unknown card transport {name!r} (known: {', '.join(TRANSPORTS)})"
        raise ValueError(msg) from None
    if not (isinstance(cls, type) and issubclass(cls, CardTransport)):
        msg = f"{path} is not a card transport (a CardTransport subclass)"
        raise ValueError(msg)
    return cls


def open_transport(name: str, **options: Any) -> CardTransport:
    """A new, not yet connected transport: `open_transport("pcsc", reader="Virtual PCD")`."""
    return transport_class(name)(**options)


__all__ = [
    "TRANSPORTS",
    "CardCommunicationError",
    "CardIdentity",
    "CardRemoved",
    "CardReset",
    "CardTransport",
    "NoCardInReader",
    "NotConnected",
    "PcscUnavailable",
    "ReaderBusy",
    "ReaderNotFound",
    "TransportError",
    "open_transport",
    "transport_class",
]
