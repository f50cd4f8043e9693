"""Sealing small secrets at rest (a PIN mailer's PIN and PUK, an escrowed key) under the
key-encryption key that only the signer holds, and an emulated card's state under the emulator's
own key (CARDFORGE_EMULATOR_KEK).

AES-256-GCM with a key derived per purpose from the KEK (HKDF-SHA256), so the KEK itself never
encrypts data and a blob sealed for one purpose does not open for another. The associated data
binds each blob to its owner (a card serial, say): a blob copied onto another row will not open.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

_VERSION = b"\x01"
_NONCE = 12


class SealError(Exception):
    """A blob could not be sealed or opened; the message never holds the secret."""


# Which key seals what (docs/signer.md). The signer's KEK seals what only the signer may open
# (escrowed keys); the web's key what the web process prints (PIN mailers); the emulator's key an
# emulated card's state (a card, not a platform secret: emulated stations hold it). A purpose
# whose key is not set falls back to the KEK, as every blob was sealed before these keys existed.
PURPOSE_KEYS = {
    "pin-mailer": "CARDFORGE_WEB_KEK",
    "emulated-card-state": "CARDFORGE_EMULATOR_KEK",
}


def _roots(purpose: str) -> list[tuple[str, object]]:
    """The keys a blob of `purpose` may be sealed under, the one to seal with first."""
    names = [PURPOSE_KEYS[purpose]] if purpose in PURPOSE_KEYS else []
    names.append("CARDFORGE_KEK")
    return [(name, getattr(settings, name)) for name in names if getattr(settings, name, None)]


def _derive(kek, purpose: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=None,
        info=b"cardforge/seal/v1/" + purpose.encode(),
    ).derive(kek.reveal())


def _key(purpose: str) -> bytes:
    roots = _roots(purpose)
    if not roots:
        name = PURPOSE_KEYS.get(purpose, "CARDFORGE_KEK")
        msg = f"{name} is not set: secrets cannot be sealed at rest"
        raise SealError(msg)
    return _derive(roots[0][1], purpose)


def seal(plaintext: bytes, *, purpose: str, owner: str) -> bytes:
    nonce = os.urandom(_NONCE)
    return _VERSION + nonce + AESGCM(_key(purpose)).encrypt(nonce, plaintext, owner.encode())


def unseal(blob: bytes, *, purpose: str, owner: str) -> bytes:
    blob = bytes(blob)
    if len(blob) < 1 + _NONCE + 16 or blob[:1] != _VERSION:
        msg = f"sealed {purpose} for {owner} is damaged"
        raise SealError(msg)
    roots = _roots(purpose)
    if not roots:
        _key(purpose)  # raises, naming the key to set
    for _, kek in roots:  # the purpose's own key, then the KEK (blobs sealed before it existed)
        try:
            return AESGCM(_derive(kek, purpose)).decrypt(
                blob[1 : 1 + _NONCE], blob[1 + _NONCE :], owner.encode()
            )
        except InvalidTag:
            continue
    msg = f"sealed {purpose} for {owner} does not open: wrong key-encryption key or altered"
    raise SealError(msg)
