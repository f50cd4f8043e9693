"""The PIV client: the card edge of SP 800-73-4 (plus Yubico extensions) over any transport.

Every method sends one or a few commands through an `ApduChannel` (chaining done there) and
turns an error status word into a typed `PivError` that carries it. Nothing here keeps a secret
beyond the call that uses it, and no log line or error message holds PIN, PUK or key bytes.

`PivClient` is one object to its callers; its commands live in one module per group, as the
emulator's handlers do: `session` (transport, SELECT, capabilities, shared plumbing),
`data_objects`, `pin_management`, `management_key`, `keys` (generation, attestation, signing,
ECDH) and `yubico` (metadata, retries, reset).
"""

from __future__ import annotations

from cardedge.piv.client.data_objects import DataObjectCommands
from cardedge.piv.client.keys import KeyCommands
from cardedge.piv.client.management_key import ManagementKeyCommands
from cardedge.piv.client.pin_management import PinCommands, PinStatus
from cardedge.piv.client.session import ApplicationProperties, CardCapabilities
from cardedge.piv.client.yubico import (
    ManagementKeyMetadata,
    ReferenceMetadata,
    SlotMetadata,
    YubicoCommands,
)


class PivClient(
    DataObjectCommands, PinCommands, ManagementKeyCommands, KeyCommands, YubicoCommands
):
    """PIV commands on a connected transport. `apdu_count` counts the APDUs exchanged."""


__all__ = [
    "ApplicationProperties",
    "CardCapabilities",
    "ManagementKeyMetadata",
    "PinStatus",
    "PivClient",
    "ReferenceMetadata",
    "SlotMetadata",
]
