"""A PIV card in plain Python: `PivCardEmulator().process(apdu) -> response`. No Django."""

from cardedge.emulator.attestation import AttestationRoot, make_attestation_root
from cardedge.emulator.card import DEFAULT_ATR, PivCardEmulator
from cardedge.emulator.errors import CardStateError, CardStorageError
from cardedge.emulator.state import CardState, FactorySettings
from cardedge.emulator.storage import CardStore, FileCardStore, MemoryCardStore
from cardedge.emulator.virtual_card import VirtualCard

__all__ = [
    "DEFAULT_ATR",
    "AttestationRoot",
    "CardState",
    "CardStateError",
    "CardStorageError",
    "CardStore",
    "FactorySettings",
    "FileCardStore",
    "MemoryCardStore",
    "PivCardEmulator",
    "VirtualCard",
    "make_attestation_root",
]
