"""The PIV card emulator: `process(apdu) -> response`, never an exception.

Dispatch, command chaining (ISO/IEC 7816-4 §5.3.3), response chaining with `61xx` and GET
RESPONSE (§5.3.4), and the rule that holds whatever the input: every APDU gets a status word
and the card stays consistent. A handler's state changes are saved before the answer; if the
store fails the card answers `65 81` and keeps its previous state; if a handler fails in a way
nobody foresaw, the card answers `6F 00` and rolls its persistent state back.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

from cardedge.apdu.command import CLA_CHAINING, CommandApdu
from cardedge.apdu.errors import MalformedApdu
from cardedge.apdu.status import StatusWord
from cardedge.emulator.context import Command, CommandContext, KeyGenerator, RandomSource
from cardedge.emulator.errors import CardStateError, CardStatus, CardStorageError
from cardedge.emulator.handlers.authentication import handle_general_authenticate
from cardedge.emulator.handlers.data_objects import (
    MAX_OBJECT_SIZE,
    handle_get_data,
    handle_put_data,
)
from cardedge.emulator.handlers.key_management import handle_generate, handle_import_key
from cardedge.emulator.handlers.pin_management import (
    handle_change_reference_data,
    handle_reset_retry_counter,
    handle_verify,
)
from cardedge.emulator.handlers.select import handle_select
from cardedge.emulator.handlers.yubico import (
    handle_attest,
    handle_get_metadata,
    handle_get_serial,
    handle_get_version,
    handle_reset,
    handle_set_management_key,
    handle_set_pin_retries,
)
from cardedge.emulator.session import CommandChain, Session
from cardedge.emulator.state import CardState, FactorySettings
from cardedge.emulator.storage import CardStore
from cardedge.piv.algorithms import generate_private_key
from cardedge.piv.constants import Ins

logger = logging.getLogger(__name__)

# T=1, historical bytes without "Yubikey" and not of the 3B 8x 80 01 form OpenSC treats as
# contactless (piv-brief §§1, 11); verified with OpenSC 0.23 and yubico-piv-tool 2.2.
DEFAULT_ATR = bytes.fromhex("3B 95 13 81 01 80 73 FF 01 00 0B")
MAX_RESPONSE_CHUNK = 256
# Chained data never needs more than the largest object plus its 5C/53 headers.
MAX_CHAINED_DATA = MAX_OBJECT_SIZE + 16

Handler = Callable[[CommandContext, Command], bytes]

HANDLERS: dict[int, Handler] = {
    Ins.SELECT: handle_select,
    Ins.GET_DATA: handle_get_data,
    Ins.PUT_DATA: handle_put_data,
    Ins.VERIFY: handle_verify,
    Ins.CHANGE_REFERENCE_DATA: handle_change_reference_data,
    Ins.RESET_RETRY_COUNTER: handle_reset_retry_counter,
    Ins.GENERAL_AUTHENTICATE: handle_general_authenticate,
    Ins.GENERATE_ASYMMETRIC_KEY_PAIR: handle_generate,
    Ins.GET_VERSION: handle_get_version,
    Ins.GET_SERIAL: handle_get_serial,
    Ins.GET_METADATA: handle_get_metadata,
    Ins.SET_MANAGEMENT_KEY: handle_set_management_key,
    Ins.IMPORT_KEY: handle_import_key,
    Ins.SET_PIN_RETRIES: handle_set_pin_retries,
    Ins.RESET: handle_reset,
    Ins.ATTEST: handle_attest,
}
YUBICO_EXTENSIONS = frozenset(
    {
        Ins.GET_VERSION,
        Ins.GET_SERIAL,
        Ins.GET_METADATA,
        Ins.SET_MANAGEMENT_KEY,
        Ins.IMPORT_KEY,
        Ins.SET_PIN_RETRIES,
        Ins.RESET,
        Ins.ATTEST,
    }
)
# Commands whose data can exceed one APDU (piv-brief §3).
CHAINABLE = frozenset(
    {Ins.PUT_DATA, Ins.GENERAL_AUTHENTICATE, Ins.IMPORT_KEY, Ins.GENERATE_ASYMMETRIC_KEY_PAIR}
)


class _StateNotSaved(Exception):
    """The store refused the new state; `process` rolls back and answers 65 81."""


def _status(sw: int) -> bytes:
    return int(sw).to_bytes(2, "big")


class PivCardEmulator:
    """A PIV card (SP 800-73-4 card edge plus Yubico extensions) in plain Python.

    `store` keeps the persistent state (None: memory only). A store that holds no state yet gets
    a blank card made from `factory` settings. `yubico_extensions=False` makes a plain SP 800-73-4
    card that answers `6D 00` to the Yubico instructions, as most non-Yubico cards do.
    `generate_key` and `random_bytes` default to `cryptography` and `os.urandom`; tests may pass
    deterministic ones.
    """

    def __init__(
        self,
        store: CardStore | None = None,
        *,
        factory: FactorySettings | None = None,
        generate_key: KeyGenerator = generate_private_key,
        random_bytes: RandomSource = os.urandom,
        atr: bytes = DEFAULT_ATR,
        yubico_extensions: bool = True,
    ) -> None:
        self._store = store
        saved = store.load() if store is not None else None
        if saved is not None:
            self._state = CardState.from_dict(saved)
        else:
            self._state = CardState.new(factory or FactorySettings())
            if store is not None:
                store.save(self._state.to_dict())
        self._session = Session()
        self._generate_key = generate_key
        self._random_bytes = random_bytes
        self._atr = atr
        self._handlers = dict(HANDLERS)
        if not yubico_extensions:
            for ins in YUBICO_EXTENSIONS:
                del self._handlers[ins]
        self._lock = threading.Lock()

    # -- VirtualCard ----------------------------------------------------------------------

    @property
    def atr(self) -> bytes:
        return self._atr

    @property
    def serial(self) -> int:
        return self._state.serial

    def power_on(self) -> None:
        with self._lock:
            self._session.reset()

    def power_off(self) -> None:
        with self._lock:
            self._session.reset()

    def reset(self) -> None:
        with self._lock:
            self._session.reset()

    def process(self, apdu: bytes) -> bytes:
        with self._lock:
            snapshot = self._state.copy()
            try:
                return self._process(bytes(apdu))
            except _StateNotSaved:
                # The host hears 65 81 (memory failure): the command did not happen, so neither
                # its state change nor any security status it granted may remain.
                self._state = snapshot
                self._session.reset()
                return _status(StatusWord.MEMORY_FAILURE)
            except Exception:
                # The card's last line of defence: whatever went wrong, answer and stay sane.
                # The log names the instruction only; APDU data may be a PIN or a key.
                ins = f"{apdu[1]:02X}" if len(apdu) > 1 else "?"
                logger.exception("emulated card: internal error on INS %s", ins)
                self._state = snapshot
                self._session.chain = None
                self._session.pending_response = b""
                self._session.challenge = None
                return _status(StatusWord.NO_PRECISE_DIAGNOSIS)

    # -- the command path -------------------------------------------------------------------

    def _process(self, raw: bytes) -> bytes:
        session = self._session
        try:
            apdu = CommandApdu.from_bytes(raw)
        except MalformedApdu:
            session.chain = None
            session.pending_response = b""
            session.challenge = None
            return _status(StatusWord.WRONG_LENGTH)

        if apdu.cla & ~CLA_CHAINING & 0xFF:
            session.chain = None
            session.pending_response = b""
            session.challenge = None
            return _status(self._unsupported_class(apdu.cla))

        if apdu.ins == Ins.GET_RESPONSE and not apdu.is_chained:
            return self._get_response(apdu)
        session.pending_response = b""  # any other command discards it (ISO/IEC 7816-4 §5.3.4)

        if apdu.is_chained:
            return self._chain_part(apdu)
        data = apdu.data
        chain, session.chain = session.chain, None
        if chain is not None and (chain.ins, chain.p1, chain.p2) == (apdu.ins, apdu.p1, apdu.p2):
            data = bytes(chain.data) + data  # last part of the chain: run the whole command

        challenge, session.challenge = session.challenge, None
        handler = self._handlers.get(apdu.ins)
        if handler is None:
            return _status(StatusWord.INS_NOT_SUPPORTED)
        context = CommandContext(
            state=self._state,
            session=session,
            challenge=challenge,
            generate_key=self._generate_key,
            random_bytes=self._random_bytes,
            save_state=self._persist,
        )
        command = Command(apdu.ins, apdu.p1, apdu.p2, data, apdu.le)
        try:
            response, sw = handler(context, command), int(StatusWord.SUCCESS)
        except CardStatus as status:
            response, sw = b"", status.sw
        if context.state_changed:
            self._persist()
        logger.debug("emulated card: %r -> %04X", command, sw)
        return self._respond(response, sw)

    @staticmethod
    def _unsupported_class(cla: int) -> int:
        if cla & 0x80:
            return StatusWord.CLA_NOT_SUPPORTED  # proprietary class
        if cla & 0x03:
            return StatusWord.LOGICAL_CHANNEL_NOT_SUPPORTED
        if cla & 0x0C:
            return StatusWord.SECURE_MESSAGING_NOT_SUPPORTED  # SP 800-73-4 SM is out of scope
        return StatusWord.CLA_NOT_SUPPORTED

    def _persist(self) -> None:
        if self._store is None:
            return
        try:
            self._store.save(self._state.to_dict())
        except (CardStorageError, CardStateError, OSError) as exc:
            logger.error("emulated card: cannot save its state: %s", exc)
            raise _StateNotSaved from None

    def _chain_part(self, apdu: CommandApdu) -> bytes:
        """Buffer one part of a chain (CLA 10) and acknowledge it with 90 00."""
        session = self._session
        chain = session.chain
        if apdu.ins not in CHAINABLE:
            session.chain = None
            return _status(StatusWord.COMMAND_CHAINING_NOT_SUPPORTED)
        if chain is not None and (chain.ins, chain.p1, chain.p2) != (apdu.ins, apdu.p1, apdu.p2):
            session.chain = None
            return _status(StatusWord.LAST_COMMAND_OF_CHAIN_EXPECTED)
        if chain is None:
            chain = session.chain = CommandChain(apdu.ins, apdu.p1, apdu.p2)
        if len(chain.data) + len(apdu.data) > MAX_CHAINED_DATA:
            session.chain = None
            return _status(StatusWord.NOT_ENOUGH_MEMORY)
        chain.data += apdu.data
        return _status(StatusWord.SUCCESS)

    def _respond(self, data: bytes, sw: int) -> bytes:
        """Up to 256 bytes now; the rest waits for GET RESPONSE behind 61xx."""
        if sw != StatusWord.SUCCESS or len(data) <= MAX_RESPONSE_CHUNK:
            return data + _status(sw)
        self._session.pending_response = data[MAX_RESPONSE_CHUNK:]
        return data[:MAX_RESPONSE_CHUNK] + self._more_data()

    def _more_data(self) -> bytes:
        remaining = len(self._session.pending_response)
        return bytes([0x61, min(remaining, MAX_RESPONSE_CHUNK) & 0xFF])  # 6100: 256 or more

    def _get_response(self, apdu: CommandApdu) -> bytes:
        session = self._session
        if (apdu.p1, apdu.p2) != (0x00, 0x00):
            return _status(StatusWord.INCORRECT_P1_P2)
        if not session.pending_response or apdu.data:
            session.pending_response = b""
            return _status(StatusWord.CONDITIONS_OF_USE_NOT_SATISFIED)
        length = apdu.le or MAX_RESPONSE_CHUNK
        chunk, session.pending_response = (
            session.pending_response[:length],
            session.pending_response[length:],
        )
        if session.pending_response:
            return chunk + self._more_data()
        return chunk + _status(StatusWord.SUCCESS)
