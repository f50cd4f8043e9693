"""What a blank card from the supplier holds (settings CARDFORGE_FACTORY_*): the management key,
PIN and PUK the first personalization step authenticates with; and, for emulated cards, the
factory's attestation root (CARDFORGE_EMULATOR_ATTESTATION_KEY_FILE), which signs each new
card's attestation certificate. Read when needed, never logged."""

from __future__ import annotations

import functools
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from cardedge.emulator import AttestationRoot
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


def emulator_attestation_root() -> AttestationRoot | None:
    """The emulator factory's attestation CA, or None when none is configured (emulated cards
    then attest with a self-signed F9 certificate, which no configured root accepts)."""
    path = settings.CARDFORGE_EMULATOR_ATTESTATION_KEY_FILE
    if not path:
        return None
    try:
        modified = Path(path).stat().st_mtime_ns
    except OSError as exc:
        msg = f"CARDFORGE_EMULATOR_ATTESTATION_KEY_FILE: cannot read {path} ({exc.strerror})"
        raise ImproperlyConfigured(msg) from None
    return _attestation_root(str(path), modified)


@functools.lru_cache(maxsize=4)
def _attestation_root(path: str, _modified: int) -> AttestationRoot:
    """Read once per file version (a blank card is made per job)."""
    try:
        return AttestationRoot.from_pem(Path(path).read_bytes())
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else str(exc)
        msg = f"CARDFORGE_EMULATOR_ATTESTATION_KEY_FILE: {path}: {reason}"
        raise ImproperlyConfigured(msg) from None
