"""APDUs, BER-TLV, status words and chaining (ISO/IEC 7816-4). Plain Python, no Django."""

from cardedge.apdu.channel import ApduChannel, ApduTransport
from cardedge.apdu.command import CommandApdu
from cardedge.apdu.errors import CardError, CardProtocolError, MalformedApdu, TlvError
from cardedge.apdu.response import ResponseApdu
from cardedge.apdu.status import StatusWord, describe, more_data_available, retries_left
from cardedge.apdu.tlv import Tlv, decode_all, decode_one, decode_single, encode_tlv

__all__ = [
    "ApduChannel",
    "ApduTransport",
    "CardError",
    "CardProtocolError",
    "CommandApdu",
    "MalformedApdu",
    "ResponseApdu",
    "StatusWord",
    "Tlv",
    "TlvError",
    "decode_all",
    "decode_one",
    "decode_single",
    "describe",
    "encode_tlv",
    "more_data_available",
    "retries_left",
]
