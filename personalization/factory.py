"""What a blank card from the supplier holds (settings CARDFORGE_FACTORY_*): the management key,
PIN and PUK the first personalization step authenticates with. Read when needed, never logged."""

from __future__ import annotations

from django.conf import settings

from cardedge.piv import ManagementKey, Pin, Puk
from cardedge.piv.constants import ManagementKeyAlgorithm

MANAGEMENT_KEY_ALGORITHMS = {
    "3des": ManagementKeyAlgorithm.TDES,
    "aes128": ManagementKeyAlgorithm.AES128,
    "aes192": ManagementKeyAlgorithm.AES192,
    "aes256": ManagementKeyAlgorithm.AES256,
}


def _reveal(value) -> str:
    return value.reveal() if hasattr(value, "reveal") else value


def factory_management_key() -> ManagementKey:
    algorithm = MANAGEMENT_KEY_ALGORITHMS[settings.CARDFORGE_FACTORY_MANAGEMENT_KEY_ALGORITHM]
    return ManagementKey.from_hex(algorithm, _reveal(settings.CARDFORGE_FACTORY_MANAGEMENT_KEY))


def factory_pin() -> Pin:
    return Pin(_reveal(settings.CARDFORGE_FACTORY_PIN))


def factory_puk() -> Puk:
    return Puk(_reveal(settings.CARDFORGE_FACTORY_PUK))
