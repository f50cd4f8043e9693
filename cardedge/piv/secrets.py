"""Secrets of a card — PIN, PUK, management key — in types that never show their value.

`repr()` and `str()` say only what the value is; pickling is refused so a secret cannot slip into
a Celery message or a cache by accident; comparison is constant-time. The one way to the bytes is
`reveal()`, called where the bytes go to the card or into the card's own storage.
"""

from __future__ import annotations

import hmac
import secrets
from typing import NoReturn, Self

from cardedge.piv.constants import ManagementKeyAlgorithm

REFERENCE_DATA_LENGTH = 8  # SP 800-73-4 Part 2 §3.2.1: PIN and PUK travel as 8 bytes
PAD_BYTE = 0xFF  # PIN and PUK are padded with FF (SP 800-73-4 Part 1 §2.4.3)
MIN_PIN_LENGTH = 6
MAX_PIN_LENGTH = 8


class SecretBytes:
    """Bytes that are not shown: `SecretBytes(<hidden>)`."""

    __slots__ = ("_value",)

    def __init__(self, value: bytes) -> None:
        self._value = bytes(value)

    def reveal(self) -> bytes:
        return self._value

    def __len__(self) -> int:
        return len(self._value)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return hmac.compare_digest(self._value, other._value)

    __hash__ = None  # type: ignore[assignment]  # equal secrets must not be findable by hash

    def __repr__(self) -> str:
        return f"{type(self).__name__}(<hidden>)"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __reduce__(self) -> NoReturn:
        msg = f"{type(self).__name__} values are not serialized"
        raise TypeError(msg)


def pad_reference_data(value: bytes) -> bytes:
    """Pad a PIN or PUK with FF to the 8 bytes VERIFY and friends carry."""
    if len(value) > REFERENCE_DATA_LENGTH:
        msg = "PIN and PUK have at most 8 characters"
        raise ValueError(msg)
    return value + bytes([PAD_BYTE]) * (REFERENCE_DATA_LENGTH - len(value))


def unpad_reference_data(padded: bytes) -> bytes:
    return padded.rstrip(bytes([PAD_BYTE]))


def is_valid_pin_block(padded: bytes) -> bool:
    """8 bytes: 6-8 ASCII digits then FF padding (SP 800-73-4 Part 1 §2.4.3)."""
    if len(padded) != REFERENCE_DATA_LENGTH:
        return False
    value = unpad_reference_data(padded)
    return MIN_PIN_LENGTH <= len(value) <= MAX_PIN_LENGTH and all(0x30 <= b <= 0x39 for b in value)


def is_valid_puk_block(padded: bytes) -> bool:
    """8 bytes: 6-8 bytes of any value but FF, then FF padding (Yubico allows 6-8)."""
    if len(padded) != REFERENCE_DATA_LENGTH:
        return False
    value = unpad_reference_data(padded)
    return MIN_PIN_LENGTH <= len(value) <= MAX_PIN_LENGTH and PAD_BYTE not in value


class Pin(SecretBytes):
    """The PIV Card Application PIN: 6-8 digits."""

    __slots__ = ()

    def __init__(self, value: str) -> None:
        if not (
            MIN_PIN_LENGTH <= len(value) <= MAX_PIN_LENGTH and value.isascii() and value.isdigit()
        ):
            msg = "a PIN has 6 to 8 digits"
            raise ValueError(msg)
        super().__init__(value.encode("ascii"))

    @property
    def padded(self) -> bytes:
        return pad_reference_data(self._value)

    @classmethod
    def generate(cls, length: int = 6) -> Self:
        """A uniformly random PIN (for the PIN mailer)."""
        return cls("".join(secrets.choice("0123456789") for _ in range(length)))


class Puk(SecretBytes):
    """The PIN Unblocking Key: 6-8 characters (8 digits by convention)."""

    __slots__ = ()

    def __init__(self, value: str) -> None:
        raw = value.encode("utf-8")
        if not MIN_PIN_LENGTH <= len(raw) <= MAX_PIN_LENGTH or not value.isprintable():
            msg = "a PUK has 6 to 8 printable characters"
            raise ValueError(msg)
        super().__init__(raw)

    @property
    def padded(self) -> bytes:
        return pad_reference_data(self._value)

    @classmethod
    def generate(cls, length: int = 8) -> Self:
        return cls("".join(secrets.choice("0123456789") for _ in range(length)))


class ManagementKey(SecretBytes):
    """The card management key (9B) with its algorithm; the repr shows the algorithm only."""

    __slots__ = ("algorithm",)

    def __init__(self, algorithm: ManagementKeyAlgorithm, value: bytes) -> None:
        algorithm = ManagementKeyAlgorithm(algorithm)
        if len(value) != algorithm.key_length:
            msg = f"a {algorithm.name} management key has {algorithm.key_length} bytes"
            raise ValueError(msg)
        super().__init__(value)
        self.algorithm = algorithm

    @classmethod
    def from_hex(cls, algorithm: ManagementKeyAlgorithm, hex_value: str) -> Self:
        try:
            value = bytes.fromhex(hex_value)
        except ValueError:
            msg = "a management key is given as hexadecimal"
            raise ValueError(msg) from None
        return cls(algorithm, value)

    @classmethod
    def generate(cls, algorithm: ManagementKeyAlgorithm = ManagementKeyAlgorithm.AES192) -> Self:
        return cls(algorithm, secrets.token_bytes(ManagementKeyAlgorithm(algorithm).key_length))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ManagementKey):
            return NotImplemented
        return self.algorithm == other.algorithm and hmac.compare_digest(self._value, other._value)

    __hash__ = None  # as for every secret: equal keys must not be findable by hash

    def __repr__(self) -> str:
        return f"ManagementKey({self.algorithm.name}, <hidden>)"

    __str__ = __repr__


# Well-known factory values (Yubico convention, piv-brief §6 and §10); never a production secret.
DEFAULT_PIN = "123456"
DEFAULT_PUK = "12345678"
DEFAULT_MANAGEMENT_KEY_HEX = "010203040506070801020304050607080102030405060708"


def default_management_key() -> ManagementKey:
    return ManagementKey.from_hex(ManagementKeyAlgorithm.TDES, DEFAULT_MANAGEMENT_KEY_HEX)
