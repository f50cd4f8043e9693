"""The key-backend interface: create a key, get its public key, sign, derive card keys.

A backend owns private and secret keys; nothing else ever reads their bytes (THREATS.md). Callers
get a `cryptography` private-key object whose `sign()` goes to the backend, so the certificate,
CRL and OCSP builders of `cryptography` work unchanged whatever holds the key, and no backend
lets that object export the private key.
"""

from __future__ import annotations

import hashlib
import hmac
from abc import ABC, abstractmethod
from collections.abc import Mapping
from enum import StrEnum
from typing import NoReturn, Self, TypeAlias

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

# Labels name keys inside a backend; a conservative alphabet keeps them valid as PKCS#11
# CKA_LABEL values and database keys alike.
LABEL_MAX_LENGTH = 100
CARD_MANAGEMENT_MASTER_LABEL = "cardforge-card-management-master"
# NIST SP 800-108r1 §4.1 "Label": names the purpose of the derived key.
CARD_MANAGEMENT_KDF_LABEL = b"CardForge PIV card management key"
MAX_DERIVED_KEY_LENGTH = 64

# The keys CardForge signs with and issues certificates for (KeyAlgorithm): EC and RSA. cryptography
# types keys as wide unions (DH, DSA, Ed25519, ML-DSA, ...); values are narrowed to these at the
# edges (`supported_public_key`, a backend's loaded key) so the rest of the code needs no casts.
SupportedPublicKey: TypeAlias = ec.EllipticCurvePublicKey | rsa.RSAPublicKey
SupportedPrivateKey: TypeAlias = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
# The hashes a CA key signs with (KeyAlgorithm.signature_hash).
SignatureHash: TypeAlias = hashes.SHA256 | hashes.SHA384


class KeyBackendError(Exception):
    """A backend could not do what was asked; the message never carries key material."""


class KeyNotFound(KeyBackendError):
    pass


class KeyAlgorithm(StrEnum):
    EC_P256 = "ec-p256"
    EC_P384 = "ec-p384"
    RSA_2048 = "rsa-2048"
    RSA_3072 = "rsa-3072"

    @property
    def is_ec(self) -> bool:
        return self.value.startswith("ec-")

    @property
    def curve(self) -> ec.EllipticCurve:
        return {"ec-p256": ec.SECP256R1(), "ec-p384": ec.SECP384R1()}[self.value]

    @property
    def key_size(self) -> int:
        return {"ec-p256": 256, "ec-p384": 384, "rsa-2048": 2048, "rsa-3072": 3072}[self.value]

    @property
    def signature_hash(self) -> SignatureHash:
        """The hash a CA key of this algorithm signs with (strength matched to the key)."""
        if self in {KeyAlgorithm.EC_P384, KeyAlgorithm.RSA_3072}:
            return hashes.SHA384()
        return hashes.SHA256()

    @classmethod
    def of(cls, public_key: PublicKeyTypes) -> KeyAlgorithm:
        """The algorithm of a public key, or ValueError for one CardForge does not use."""
        public_key = supported_public_key(public_key)
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            for algorithm in (cls.EC_P256, cls.EC_P384):
                if public_key.curve.name == algorithm.curve.name:
                    return algorithm
            msg = f"curve {public_key.curve.name} is not supported (P-256, P-384)"
            raise ValueError(msg)
        for algorithm in (cls.RSA_2048, cls.RSA_3072):
            if public_key.key_size == algorithm.key_size:
                return algorithm
        msg = f"RSA-{public_key.key_size} is not supported (RSA-2048, RSA-3072)"
        raise ValueError(msg)


def supported_public_key(public_key: PublicKeyTypes) -> SupportedPublicKey:
    """`public_key` as an EC or RSA key, or ValueError naming the kind of key it is instead."""
    if isinstance(public_key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        return public_key
    msg = f"{type(public_key).__name__} keys are not supported (EC P-256/P-384, RSA)"
    raise ValueError(msg)


def check_label(label: str) -> str:
    allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
    if not label or len(label) > LABEL_MAX_LENGTH or not set(label) <= allowed:
        msg = f"key label {label!r} must be 1-{LABEL_MAX_LENGTH} of A-Z a-z 0-9 - _ ."
        raise KeyBackendError(msg)
    return label


def sp800_108_counter_fixed_input(label: bytes, context: bytes, length: int) -> bytes:
    """SP 800-108r1 §4.1 fixed input data: Label || 0x00 || Context || [L]_32 (L in bits)."""
    return label + b"\x00" + context + (length * 8).to_bytes(4, "big")


class KeyBackend(ABC):
    """One configured place holding keys, named by its alias in settings.PKI_KEY_BACKENDS."""

    def __init__(self, alias: str, options: Mapping[str, object]) -> None:
        self.alias = alias
        self.options = dict(options)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.alias!r}>"

    # --- asymmetric keys ---------------------------------------------------------------------

    @abstractmethod
    def create_key(self, *, label: str, algorithm: KeyAlgorithm) -> str:
        """Generate a key pair inside the backend; return the handle that names it from now on."""

    @abstractmethod
    def private_key(self, handle: str) -> SupportedPrivateKey:
        """A signing object for the key; its `private_bytes()` refuses with TypeError."""

    def public_key(self, handle: str) -> SupportedPublicKey:
        return self.private_key(handle).public_key()

    @abstractmethod
    def has_key(self, handle: str) -> bool:
        """Whether a key pair or secret key with this handle exists in the backend."""

    def sign(self, handle: str, data: bytes, *, algorithm: hashes.HashAlgorithm) -> bytes:
        """An X.509-style signature over `data`: DER ECDSA, or RSASSA-PKCS1-v1_5."""
        key = self.private_key(handle)
        if isinstance(key, ec.EllipticCurvePrivateKey):
            return key.sign(data, ec.ECDSA(algorithm))
        return key.sign(data, padding.PKCS1v15(), algorithm)

    # --- secret keys and derivation ----------------------------------------------------------

    @abstractmethod
    def create_secret_key(self, *, label: str) -> str:
        """Generate a 256-bit HMAC key inside the backend; return its handle."""

    @abstractmethod
    def _hmac_sha256(self, handle: str, data: bytes) -> bytes:
        """HMAC-SHA256 with the secret key `handle` (the PRF of the key derivation)."""

    def derive_key(self, handle: str, *, label: bytes, context: bytes, length: int) -> bytes:
        """NIST SP 800-108r1 KDF in counter mode, PRF HMAC-SHA256, 32-bit counter before the
        fixed input: K(i) = PRF(KI, [i]_32 || Label || 0x00 || Context || [L]_32)."""
        if not 1 <= length <= MAX_DERIVED_KEY_LENGTH:
            msg = f"length must be 1 to {MAX_DERIVED_KEY_LENGTH} bytes, not {length}"
            raise ValueError(msg)
        fixed = sp800_108_counter_fixed_input(label, context, length)
        blocks = []
        for counter in range(1, -(-length // 32) + 1):
            blocks.append(self._hmac_sha256(handle, counter.to_bytes(4, "big") + fixed))
        return b"".join(blocks)[:length]

    def derive_card_management_key(
        self, card_identity: bytes, length: int, *, master: str = CARD_MANAGEMENT_MASTER_LABEL
    ) -> bytes:
        """The PIV card management key (9B) of one card, derived from the backend's master key
        and the card's identity (DESIGN.md: no per-card secret is stored)."""
        if not isinstance(card_identity, bytes) or not card_identity:
            msg = "card_identity must be non-empty bytes (e.g. the card's CHUID GUID)"
            raise ValueError(msg)
        return self.derive_key(
            master, label=CARD_MANAGEMENT_KDF_LABEL, context=card_identity, length=length
        )


def software_hmac_sha256(secret: bytes, data: bytes) -> bytes:
    return hmac.new(secret, data, hashlib.sha256).digest()


class NonExportableKeyMixin:
    """What private-key objects handed out by a backend answer to export attempts."""

    _backend_alias: str
    _handle: str

    def _refuse(self, operation: str) -> NoReturn:
        msg = (
            f"{operation} is not available: the private key {self._handle!r} stays in key "
            f"backend {self._backend_alias!r}"
        )
        raise TypeError(msg)

    def private_bytes(self, *args: object, **kwargs: object) -> NoReturn:
        self._refuse("private_bytes()")

    def private_numbers(self) -> NoReturn:
        self._refuse("private_numbers()")

    def __copy__(self) -> Self:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> Self:
        return self

    def __reduce__(self) -> NoReturn:
        self._refuse("pickling")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._backend_alias}:{self._handle}>"
