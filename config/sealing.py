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


# Emulated cards are cards, not platform secrets: their state is sealed under a key of their own,
# which emulated stations hold (docs/signer.md), never under the signer's KEK (the KEK only for
# databases made before that key existed).
EMULATOR_PURPOSES = frozenset({"emulated-card-state"})


def _root(purpose: str):
    if purpose in EMULATOR_PURPOSES and settings.CARDFORGE_EMULATOR_KEK is not None:
        return settings.CARDFORGE_EMULATOR_KEK, "CARDFORGE_EMULATOR_KEK"
    return settings.CARDFORGE_KEK, "CARDFORGE_KEK"


def _key(purpose: str) -> bytes:
    kek, name = _root(purpose)
    if kek is None:
        msg = f"{name} is not set: secrets cannot be sealed at rest"
        raise SealError(msg)
    return HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=None,
        info=b"cardforge/seal/v1/" + purpose.encode(),
    ).derive(kek.reveal())


def seal(plaintext: bytes, *, purpose: str, owner: str) -> bytes:
    nonce = os.urandom(_NONCE)
    return _VERSION + nonce + AESGCM(_key(purpose)).encrypt(nonce, plaintext, owner.encode())


def unseal(blob: bytes, *, purpose: str, owner: str) -> bytes:
    blob = bytes(blob)
    if len(blob) < 1 + _NONCE + 16 or blob[:1] != _VERSION:
        msg = f"sealed {purpose} for {owner} is damaged"
        raise SealError(msg)
    try:
        return AESGCM(_key(purpose)).decrypt(
            blob[1 : 1 + _NONCE], blob[1 + _NONCE :], owner.encode()
        )
    except InvalidTag:
        msg = f"sealed {purpose} for {owner} does not open: wrong key-encryption key or altered"
        raise SealError(msg) from None
