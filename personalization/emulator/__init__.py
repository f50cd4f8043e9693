"""A PIV card in plain Python: `PivCardEmulator().process(apdu) -> response`. No Django."""

from personalization.emulator.card import DEFAULT_ATR, PivCardEmulator
from personalization.emulator.errors import CardStateError, CardStorageError
from personalization.emulator.state import CardState, FactorySettings
from personalization.emulator.storage import CardStore, FileCardStore, MemoryCardStore
from personalization.emulator.virtual_card import VirtualCard

__all__ = [
    "DEFAULT_ATR",
    "CardState",
    "CardStateError",
    "CardStorageError",
    "CardStore",
    "FactorySettings",
    "FileCardStore",
    "MemoryCardStore",
    "PivCardEmulator",
    "VirtualCard",
]
