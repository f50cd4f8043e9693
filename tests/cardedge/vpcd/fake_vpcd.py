"""A stand-in for pcscd's vpcd driver: a TCP server speaking vpcd's protocol, for the bridge's
tests here and for `manage.py emulate_card`'s in tests/personalization."""

from __future__ import annotations

import socket
import time

from cardedge.vpcd import MessageReader, frame


class FakeVpcd:
    """The vpcd side: listens, accepts the card, sends commands, reads answers."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.connection: socket.socket | None = None
        self.reader = MessageReader()
        self.received: list[bytes] = []

    def accept(self, timeout: float = 5.0) -> None:
        self.server.settimeout(timeout)
        self.connection, _ = self.server.accept()
        self.connection.settimeout(timeout)
        self.reader = MessageReader()
        self.received = []

    def send_slowly(self, payload: bytes) -> None:
        assert self.connection is not None
        for byte in frame(payload):  # one byte per segment: the bridge must reassemble
            self.connection.sendall(bytes([byte]))
            time.sleep(0.001)

    def receive(self) -> bytes:
        assert self.connection is not None
        while not self.received:
            data = self.connection.recv(4096)
            assert data, "the bridge closed the connection"
            self.received += self.reader.feed(data)
        return self.received.pop(0)

    def exchange(self, payload: bytes) -> bytes:
        self.send_slowly(payload)
        return self.receive()

    def drop(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def close(self) -> None:
        self.drop()
        self.server.close()
