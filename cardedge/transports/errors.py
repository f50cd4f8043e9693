"""Transport errors: the reader, the PC/SC service or the connection failed, not the card edge.

Every one can carry the PC/SC result code (`hresult`) that caused it.
"""

from __future__ import annotations

from cardedge.apdu.errors import CardError


class TransportError(CardError):
    def __init__(self, message: str, *, hresult: int | None = None):
        super().__init__(message)
        self.message = message
        self.hresult = hresult


class NotConnected(TransportError):
    """transmit() before connect() or after disconnect()."""


class PcscUnavailable(TransportError):
    """No PC/SC service: pcscd is not running (SCARD_E_NO_SERVICE) or stopped."""


class ReaderNotFound(TransportError):
    """No reader of that name or pattern (or no reader at all)."""


class NoCardInReader(TransportError):
    """The reader(s) matched, but none holds a card."""


class ReaderBusy(TransportError):
    """Another application holds the reader exclusively (SCARD_E_SHARING_VIOLATION)."""


class CardRemoved(TransportError):
    """The card left the reader, possibly in the middle of a command."""


class CardReset(TransportError):
    """Another application reset the card: its security status (PIN, admin) is gone."""


class CardCommunicationError(TransportError):
    """The reader could not exchange the APDU with the card."""
