"""Plugs a virtual card into pcscd's `vpcd` reader driver over TCP.

In Debian's default set-up vpcd listens (127.0.0.1:35963 is reader "Virtual PCD 00 00", 35964
"Virtual PCD 00 01") and the card connects to it: connecting is inserting the card, closing is
removing it. The bridge answers vpcd's control bytes and APDUs, and when the connection drops —
pcscd restarted, for instance — it powers the card off and connects again, with back-off, until
`stop()` is called (from any thread or a signal handler).
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import threading

from cardedge.emulator.virtual_card import VirtualCard
from cardedge.vpcd.protocol import Control, MessageReader, frame

logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 35963  # reader "Virtual PCD 00 00" in /etc/reader.conf.d/vpcd (CHANNELID 0x8C7B)


def parse_address(text: str) -> tuple[str, int]:
    """`HOST:PORT` (or `[v6]:PORT`) → (host, port); ValueError with a clear message."""
    host, sep, port_text = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        msg = f"expected HOST:PORT, e.g. 127.0.0.1:{DEFAULT_PORT}, not {text!r}"
        raise ValueError(msg)
    return host, int(port_text)


def _acknowledge_at_once(connection: socket.socket) -> None:
    """Switch off delayed ACKs (Linux TCP_QUICKACK; the kernel clears it, so after every read).

    vpcd writes the 2-byte length and the APDU separately with Nagle on: the APDU waits until
    the length is acknowledged, and a delayed ACK would hold every command for ~40 ms.
    """
    quickack = getattr(socket, "TCP_QUICKACK", None)
    if quickack is not None:
        with contextlib.suppress(OSError):
            connection.setsockopt(socket.IPPROTO_TCP, quickack, 1)


class VpcdBridge:
    def __init__(
        self,
        card: VirtualCard,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        *,
        reconnect_delay: float = 0.1,
        max_reconnect_delay: float = 2.0,
        connect_timeout: float = 2.0,
    ) -> None:
        self.card = card
        self.host = host
        self.port = port
        self.reconnect_delay = reconnect_delay
        self.max_reconnect_delay = max_reconnect_delay
        self.connect_timeout = connect_timeout
        self.connections = 0  # successful connections so far (each one is a card insertion)
        self._stopping = threading.Event()
        self._wake_reader, self._wake_writer = socket.socketpair()
        self._wake_reader.setblocking(False)
        self._wake_writer.setblocking(False)
        self._connected = threading.Event()

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def stop(self) -> None:
        """Ask `serve_forever` to return; safe from other threads and from signal handlers."""
        self._stopping.set()
        with contextlib.suppress(OSError):  # already woken (buffer full), or closing
            self._wake_writer.send(b"\x00")

    def serve_forever(self) -> None:
        """Connect, serve, reconnect after a drop; return once stop() has been called."""
        delay = self.reconnect_delay
        announced_wait = False
        try:
            while not self._stopping.is_set():
                try:
                    connection = socket.create_connection(
                        (self.host, self.port), self.connect_timeout
                    )
                except OSError as exc:
                    if not announced_wait:
                        logger.info("waiting for vpcd at %s:%d (%s)", self.host, self.port, exc)
                        announced_wait = True
                    self._pause(delay)
                    delay = min(delay * 2, self.max_reconnect_delay)
                    continue
                delay, announced_wait = self.reconnect_delay, False
                self.connections += 1
                logger.info("card inserted into vpcd at %s:%d", self.host, self.port)
                try:
                    self._serve(connection)
                finally:
                    self._connected.clear()
                    connection.close()
                    self.card.power_off()
                if not self._stopping.is_set():
                    logger.info("vpcd closed the connection (pcscd stopped?); reconnecting")
                    self._pause(delay)
        finally:
            self._wake_reader.close()
            self._wake_writer.close()
            logger.info("card removed; bridge stopped")

    def _pause(self, seconds: float) -> None:
        """Sleep, but wake at once on stop()."""
        with selectors.DefaultSelector() as selector:
            selector.register(self._wake_reader, selectors.EVENT_READ)
            selector.select(seconds)

    def _serve(self, connection: socket.socket) -> None:
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        _acknowledge_at_once(connection)
        connection.settimeout(None)
        self._connected.set()
        reader = MessageReader()
        with selectors.DefaultSelector() as selector:
            selector.register(connection, selectors.EVENT_READ, "card")
            selector.register(self._wake_reader, selectors.EVENT_READ, "wake")
            while not self._stopping.is_set():
                for key, _events in selector.select():
                    if key.data == "wake":
                        return
                    try:
                        data = connection.recv(65536)
                        _acknowledge_at_once(connection)
                    except OSError as exc:
                        logger.info("vpcd connection failed: %s", exc)
                        return
                    if not data:
                        return
                    for message in reader.feed(data):
                        reply = self._handle(message)
                        if reply is not None:
                            try:
                                connection.sendall(frame(reply))
                            except OSError as exc:
                                logger.info("vpcd connection failed: %s", exc)
                                return

    def _handle(self, message: bytes) -> bytes | None:
        if len(message) != 1:
            return self.card.process(message)
        control = message[0]
        if control == Control.GET_ATR:
            return self.card.atr
        if control == Control.POWER_OFF:
            self.card.power_off()
        elif control == Control.POWER_ON:
            self.card.power_on()
        elif control == Control.RESET:
            self.card.reset()
        else:
            logger.warning("vpcd sent an unknown control byte %02X; ignored", control)
        return None
