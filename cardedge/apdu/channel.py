"""An APDU channel: command chaining and response chaining done for the caller.

* Command chaining (ISO/IEC 7816-4 §5.3.3): data over 255 bytes goes in parts of at most 255
  bytes, every part but the last with CLA b5 set (`10`). PIV uses it for PUT DATA (certificates),
  GENERAL AUTHENTICATE with RSA-2048 (266 bytes) and Yubico IMPORT KEY.
* Response chaining (§5.3.4): `61xx` means more data; GET RESPONSE (`00 C0 00 00 xx`) fetches it
  until the card answers `90 00` (or an error).
* `6Cxx` (wrong Le, §5.1.3) is answered by sending the same command again with Le = xx.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Protocol

from cardedge.apdu.command import CLA_CHAINING, MAX_SHORT_DATA, CommandApdu
from cardedge.apdu.errors import CardProtocolError, MalformedApdu
from cardedge.apdu.response import ResponseApdu
from cardedge.apdu.status import StatusWord, correct_le, more_data_available

logger = logging.getLogger(__name__)

INS_GET_RESPONSE = 0xC0
MAX_RESPONSE_BYTES = 1 << 16  # no PIV object comes near; stops a card that answers 61xx forever


class ApduTransport(Protocol):
    """What the channel needs from a transport."""

    def transmit(self, apdu: bytes) -> bytes: ...

    def transaction(self) -> contextlib.AbstractContextManager[None]: ...


class ApduChannel:
    """Sends logical commands over a transport, one PC/SC transaction per command.

    `apdu_count` counts every APDU exchanged, including chain parts and GET RESPONSEs.
    """

    def __init__(self, transport: ApduTransport) -> None:
        self._transport = transport
        self.apdu_count = 0

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Hold the card for several logical commands (e.g. both steps of a mutual auth)."""
        with self._transport.transaction():
            yield

    def send(
        self, ins: int, p1: int, p2: int, data: bytes = b"", *, le: int | None = None, cla: int = 0
    ) -> ResponseApdu:
        """Send one logical command, chained if `data` is long; returns the whole response.

        A chain that the card refuses part-way (anything but `90 00` on an intermediate part)
        stops there and that answer is returned. The final status word is the card's last one.
        """
        with self._transport.transaction():
            parts = [data[i : i + MAX_SHORT_DATA] for i in range(0, len(data), MAX_SHORT_DATA)]
            for part in parts[:-1]:
                response = self._exchange(CommandApdu(cla | CLA_CHAINING, ins, p1, p2, part))
                if response.sw != StatusWord.SUCCESS:
                    return response
            last = CommandApdu(cla, ins, p1, p2, parts[-1] if parts else b"", le)
            response = self._exchange(last)
            if (exact := correct_le(response.sw)) is not None:
                response = self._exchange(CommandApdu(cla, ins, p1, p2, last.data, exact))
            return self._collect(response)

    def _collect(self, response: ResponseApdu) -> ResponseApdu:
        """Follow `61xx` with GET RESPONSE until the card is done (ISO/IEC 7816-4 §5.3.4)."""
        chunks = [response.data]
        total = len(response.data)
        while (available := more_data_available(response.sw)) is not None:
            response = self._exchange(CommandApdu(0x00, INS_GET_RESPONSE, 0x00, 0x00, le=available))
            chunks.append(response.data)
            total += len(response.data)
            if total > MAX_RESPONSE_BYTES:
                msg = f"the card kept answering 61xx past {MAX_RESPONSE_BYTES} bytes"
                raise CardProtocolError(msg)
        return ResponseApdu(b"".join(chunks), response.sw)

    def _exchange(self, command: CommandApdu) -> ResponseApdu:
        self.apdu_count += 1
        raw = self._transport.transmit(command.to_bytes())
        try:
            response = ResponseApdu.from_bytes(raw)
        except MalformedApdu as exc:
            msg = f"the card answered {command!r} without a status word"
            raise CardProtocolError(msg) from exc
        logger.debug("%r -> %04X (%d bytes)", command, response.sw, len(response.data))
        return response
