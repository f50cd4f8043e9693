"""Sealing small secrets at rest (a PIN mailer's PIN and PUK, an emulated card's state, an
escrowed key) under the key-encryption key.

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


def _key(purpose: str) -> bytes:
    kek = settings.CARDFORGE_KEK
    if kek is None:
        msg = "CARDFORGE_KEK is not set: secrets cannot be sealed at rest"
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
