"""The vpcd bridge: an emulated card in pcscd's virtual reader. Plain Python, no Django."""

from cardedge.vpcd.bridge import DEFAULT_HOST, DEFAULT_PORT, VpcdBridge, parse_address
from cardedge.vpcd.protocol import Control, MessageReader, frame

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "Control",
    "MessageReader",
    "VpcdBridge",
    "frame",
    "parse_address",
]
