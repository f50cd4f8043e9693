"""PC/SC transport through pyscard: any reader pcscd knows, physical or vpcd's virtual one.

The reader is chosen by name: an exact name, a case-insensitive substring (as yubico-piv-tool's
`-r` does), or a compiled regular expression. Among several matching readers the first that
holds a card is used. Failures become typed errors with the PC/SC result code:
`PcscUnavailable` (pcscd not running), `ReaderNotFound`, `NoCardInReader`, `ReaderBusy`,
`CardRemoved` (also when the card goes away in the middle of a command), `CardReset`,
`CardCommunicationError`.

The client library reads PCSCLITE_CSOCK_NAME once per process to find pcscd's socket (see
docs/card.md on the test harness).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import cast

from smartcard import scard

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

logger = logging.getLogger(__name__)

_SERVICE_DOWN = frozenset({scard.SCARD_E_NO_SERVICE, scard.SCARD_E_SERVICE_STOPPED})
_NO_CARD = frozenset({scard.SCARD_E_NO_SMARTCARD, scard.SCARD_W_REMOVED_CARD})
_NO_READER = frozenset(
    {
        scard.SCARD_E_UNKNOWN_READER,
        scard.SCARD_E_READER_UNAVAILABLE,
        scard.SCARD_E_NO_READERS_AVAILABLE,
    }
)

ReaderSelector = str | re.Pattern[str] | None
# SCardStatus reader state bit (pcsclite.h); pyscard does not export it.
SCARD_ABSENT = 0x0002
# vpcd polls presence every 0.4 s (pcscd's PCSCLITE_STATUS_POLL_RATE); allow a few polls.
REMOVAL_GRACE_SECONDS = 1.5


def _describe(hresult: int) -> str:
    return f"{scard.SCardGetErrorMessage(hresult).strip()} (0x{hresult & 0xFFFFFFFF:08X})"


def _error(hresult: int, what: str) -> TransportError:
    text = f"{what}: {_describe(hresult)}"
    if hresult in _SERVICE_DOWN:
        return PcscUnavailable(
            f"{what}: pcscd is not running ({_describe(hresult)})", hresult=hresult
        )
    if hresult in _NO_READER:
        return ReaderNotFound(text, hresult=hresult)
    if hresult in _NO_CARD:
        return CardRemoved(text, hresult=hresult)
    if hresult == scard.SCARD_W_RESET_CARD:
        return CardReset(text, hresult=hresult)
    if hresult == scard.SCARD_E_SHARING_VIOLATION:
        return ReaderBusy(text, hresult=hresult)
    return CardCommunicationError(text, hresult=hresult)


def _establish_context() -> int:
    hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hresult != scard.SCARD_S_SUCCESS:
        raise _error(hresult, "cannot reach the PC/SC service")
    return cast(int, context)  # pyscard is untyped: its context handle is an int


def _list_readers(context: int) -> list[str]:
    hresult, readers = scard.SCardListReaders(context, [])
    if hresult == scard.SCARD_E_NO_READERS_AVAILABLE:
        return []
    if hresult != scard.SCARD_S_SUCCESS:
        raise _error(hresult, "cannot list the readers")
    return list(readers)


def list_readers() -> list[str]:
    """Names of the readers pcscd knows (empty if none); PcscUnavailable if pcscd is down."""
    context = _establish_context()
    try:
        return _list_readers(context)
    finally:
        scard.SCardReleaseContext(context)


def matching_readers(readers: list[str], selector: ReaderSelector) -> list[str]:
    """Readers that `selector` names: an exact name wins over substrings; None matches all."""
    if selector is None:
        return list(readers)
    if isinstance(selector, re.Pattern):
        return [name for name in readers if selector.search(name)]
    if selector in readers:
        return [selector]
    wanted = selector.casefold()
    return [name for name in readers if wanted in name.casefold()]


class PcscTransport(CardTransport):
    """A card in a PC/SC reader. `reader` is a name, a substring, a regex, or None (any)."""

    def __init__(self, reader: ReaderSelector = None, *, exclusive: bool = False) -> None:
        self.reader = reader
        self.exclusive = exclusive
        self._context: int | None = None
        self._card: int | None = None
        self._protocol: int = scard.SCARD_PROTOCOL_T1
        self._transaction_depth = 0

    def _selector_text(self) -> str:
        if self.reader is None:
            return "any reader"
        if isinstance(self.reader, re.Pattern):
            return f"readers matching /{self.reader.pattern}/"
        return f"readers named like {self.reader!r}"

    def connect(self) -> CardIdentity:
        if self._card is not None:
            return self.identity
        context = _establish_context()
        try:
            identity = self._connect_in(context)
        except BaseException:
            scard.SCardReleaseContext(context)
            raise
        self._context = context
        self._identity = identity
        return identity

    def _connect_in(self, context: int) -> CardIdentity:
        readers = _list_readers(context)
        candidates = matching_readers(readers, self.reader)
        if not candidates:
            available = ", ".join(repr(name) for name in readers) or "none"
            msg = f"no reader among {self._selector_text()} (readers: {available})"
            raise ReaderNotFound(msg)
        share = scard.SCARD_SHARE_EXCLUSIVE if self.exclusive else scard.SCARD_SHARE_SHARED
        protocols = scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1
        for name in candidates:
            hresult, card, protocol = scard.SCardConnect(context, name, share, protocols)
            if hresult in _NO_CARD or hresult == scard.SCARD_W_UNPOWERED_CARD:
                continue
            if hresult != scard.SCARD_S_SUCCESS:
                raise _error(hresult, f"cannot connect to the card in {name!r}")
            self._card, self._protocol = card, protocol
            hresult, _reader, _state, _protocol, atr = scard.SCardStatus(card)
            if hresult != scard.SCARD_S_SUCCESS:
                scard.SCardDisconnect(card, scard.SCARD_LEAVE_CARD)
                self._card = None
                raise _error(hresult, f"cannot read the status of the card in {name!r}")
            logger.info("connected to the card in %s", name)
            return CardIdentity(reader=name, atr=bytes(atr))
        msg = f"no card in {', '.join(repr(name) for name in candidates)}"
        raise NoCardInReader(msg)

    def disconnect(self, *, reset: bool = True) -> None:
        card, context = self._card, self._context
        self._card = self._context = None
        self._identity = None
        self._transaction_depth = 0
        if card is not None:
            disposition = scard.SCARD_RESET_CARD if reset else scard.SCARD_LEAVE_CARD
            hresult = scard.SCardDisconnect(card, disposition)
            if hresult not in (scard.SCARD_S_SUCCESS, *_NO_CARD):
                logger.warning("disconnecting from the card: %s", _describe(hresult))
        if context is not None:
            scard.SCardReleaseContext(context)

    def _handle(self) -> int:
        if self._card is None:
            msg = "the PC/SC transport is not connected"
            raise NotConnected(msg)
        return self._card

    def transmit(self, apdu: bytes) -> bytes:
        card = self._handle()
        hresult, response = scard.SCardTransmit(card, self._protocol, list(apdu))
        if hresult == scard.SCARD_S_SUCCESS and len(response) >= 2:
            return bytes(response)
        raise self._transmit_failure(card, hresult)

    def _transmit_failure(self, card: int, hresult: int) -> TransportError:
        """Tell a card pulled out mid-command from a communication error.

        A reader may notice a removal only at its next presence poll: vpcd even reports the
        aborted exchange as a success with no response at all. So, on the failure path only,
        watch the reader state for a moment before calling it a communication error.
        """
        if hresult in _NO_CARD:
            msg = f"the card was removed during a command ({_describe(hresult)})"
            return CardRemoved(msg, hresult=hresult)
        if hresult in _SERVICE_DOWN or hresult == scard.SCARD_W_RESET_CARD:
            return _error(hresult, "transmit")
        deadline = time.monotonic() + REMOVAL_GRACE_SECONDS
        while True:
            status, _reader, state, _protocol, _atr = scard.SCardStatus(card)
            if status in _NO_CARD or (status == scard.SCARD_S_SUCCESS and state & SCARD_ABSENT):
                detail = "no response" if hresult == scard.SCARD_S_SUCCESS else _describe(hresult)
                msg = f"the card was removed during a command ({detail})"
                return CardRemoved(
                    msg, hresult=None if hresult == scard.SCARD_S_SUCCESS else hresult
                )
            if status != scard.SCARD_S_SUCCESS or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        if hresult == scard.SCARD_S_SUCCESS:
            msg = "the card answered without a status word"
            return CardCommunicationError(msg)
        return _error(hresult, "the reader could not exchange the APDU")

    @contextmanager
    def transaction(self) -> Iterator[None]:
        card = self._handle()
        if self._transaction_depth == 0:
            hresult = scard.SCardBeginTransaction(card)
            if hresult != scard.SCARD_S_SUCCESS:
                raise _error(hresult, "cannot begin a PC/SC transaction")
        self._transaction_depth += 1
        try:
            yield
        finally:
            self._transaction_depth -= 1
            if self._transaction_depth == 0 and self._card is not None:
                hresult = scard.SCardEndTransaction(self._card, scard.SCARD_LEAVE_CARD)
                if hresult not in (scard.SCARD_S_SUCCESS, *_NO_CARD):
                    logger.warning("ending the PC/SC transaction: %s", _describe(hresult))
