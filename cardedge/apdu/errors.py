"""The root of every error the card layer raises, and the errors of the APDU layer itself."""

from __future__ import annotations


class CardError(Exception):
    """Anything that went wrong talking to a card: transport, protocol or card status.

    Messages never carry APDU data, because command data can hold a PIN, a PUK or key material.
    """


class MalformedApdu(CardError, ValueError):
    """Bytes that are not a well-formed (short) command or response APDU."""


class TlvError(CardError, ValueError):
    """Bytes that are not well-formed BER-TLV (ISO/IEC 7816-4 §5.2, ISO/IEC 8825-1)."""


class CardProtocolError(CardError):
    """The card broke the transmission protocol (e.g. endless 61xx, response without a status)."""
