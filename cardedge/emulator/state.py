"""The emulated card's persistent state and its factory settings.

Persistent state is what a real card keeps in EEPROM across power cycles: data objects (tag →
the object TLV exactly as written), asymmetric keys per slot, the 9B management key, PIN and PUK
with their retry limits and counters, serial and firmware version. It round-trips through a
JSON-compatible dict (`to_dict` / `from_dict`), which is what a `CardStore` keeps.

That dict holds the card's secrets in clear (PIN, PUK, private keys, management key), exactly as
a card's own memory does, so a store must protect it: FileCardStore writes mode 0600; a database
store should encrypt it with the key-encryption key.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from cardedge.apdu.tlv import encode_tlv
from cardedge.emulator.attestation import AttestationRoot, make_attestation_authority
from cardedge.emulator.errors import CardStateError
from cardedge.piv.algorithms import PrivateKey, algorithm_of
from cardedge.piv.constants import (
    PIV_AID,
    KeyAlgorithm,
    ManagementKeyAlgorithm,
    ObjectTag,
    PinPolicy,
    Slot,
    TouchPolicy,
)
from cardedge.piv.secrets import (
    DEFAULT_PIN,
    DEFAULT_PUK,
    ManagementKey,
    Pin,
    Puk,
    SecretBytes,
    default_management_key,
)

STATE_FORMAT = "cardforge.piv-emulator/1"
DEFAULT_VERSION = (
    5,
    4,
    3,
)  # piv-brief §10: 5.x avoids libykpiv's OTP-applet detour and ROCA checks
DEFAULT_RETRIES = 3
# YubiKey-like factory discovery object: PIV AID, PIN usage policy 40 00 (PIV PIN only).
FACTORY_DISCOVERY = encode_tlv(
    ObjectTag.DISCOVERY, encode_tlv(0x4F, PIV_AID) + encode_tlv(0x5F2F, b"\x40\x00")
)


class KeyOrigin(IntEnum):
    """Yubico GET METADATA tag 03."""

    GENERATED = 0x01
    IMPORTED = 0x02


# SP 800-73-4 Part 1 §3.2 key access rules: 9A/9D/retired once per session, 9C every use,
# 9E none (card authentication works without the cardholder).
DEFAULT_PIN_POLICIES: dict[Slot, PinPolicy] = dict.fromkeys(Slot, PinPolicy.ONCE)
DEFAULT_PIN_POLICIES[Slot.DIGITAL_SIGNATURE] = PinPolicy.ALWAYS
DEFAULT_PIN_POLICIES[Slot.CARD_AUTHENTICATION] = PinPolicy.NEVER


@dataclass(frozen=True)
class FactorySettings:
    """What a blank card holds, and what Yubico RESET (FB) and SET PIN RETRIES (FA) go back to."""

    pin: Pin = field(default_factory=lambda: Pin(DEFAULT_PIN))
    puk: Puk = field(default_factory=lambda: Puk(DEFAULT_PUK))
    management_key: ManagementKey = field(default_factory=default_management_key)
    pin_retries: int = DEFAULT_RETRIES
    puk_retries: int = DEFAULT_RETRIES
    version: tuple[int, int, int] = DEFAULT_VERSION
    serial: int | None = None  # None: a random 8-digit serial per card
    with_discovery_object: bool = True
    # The factory's attestation CA, which signs a new card's F9 certificate (None: the card's
    # own F9 key signs it). Used when a card is made, never stored with it.
    attestation_root: AttestationRoot | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not (1 <= self.pin_retries <= 255 and 1 <= self.puk_retries <= 255):
            msg = "retry limits are 1 to 255"
            raise ValueError(msg)
        if len(self.version) != 3 or not all(0 <= part <= 255 for part in self.version):
            msg = "the version is three numbers 0-255"
            raise ValueError(msg)
        if self.serial is not None and not 0 <= self.serial <= 0xFFFFFFFF:
            msg = "the serial is a 32-bit number"
            raise ValueError(msg)


@dataclass(repr=False)
class StoredKey:
    """A private key in a slot. The repr names the algorithm only."""

    algorithm: KeyAlgorithm
    private_key: PrivateKey
    origin: KeyOrigin
    pin_policy: PinPolicy = PinPolicy.DEFAULT
    touch_policy: TouchPolicy = TouchPolicy.DEFAULT
    _pkcs8: bytes | None = field(default=None, compare=False)

    def pkcs8(self) -> bytes:
        if self._pkcs8 is None:
            self._pkcs8 = _pkcs8(self.private_key)
        return self._pkcs8

    def __repr__(self) -> str:
        return f"StoredKey({self.algorithm.name}, {self.origin.name.lower()})"


@dataclass(repr=False)
class ReferenceData:
    """A PIN or PUK: the 8-byte padded value, whether it is the factory one, retry counters."""

    value: SecretBytes
    retry_limit: int
    retries_left: int
    is_default: bool = True

    @property
    def blocked(self) -> bool:
        return self.retries_left == 0

    def copy(self) -> ReferenceData:
        return ReferenceData(self.value, self.retry_limit, self.retries_left, self.is_default)

    def __repr__(self) -> str:
        return f"ReferenceData(<hidden>, {self.retries_left}/{self.retry_limit} tries)"


@dataclass(repr=False)
class CardState:
    serial: int
    version: tuple[int, int, int]
    factory: FactorySettings
    management_key: ManagementKey
    pin: ReferenceData
    puk: ReferenceData
    attestation_key: ec.EllipticCurvePrivateKey
    attestation_certificate: x509.Certificate
    management_key_is_default: bool = True
    objects: dict[int, bytes] = field(default_factory=dict)
    keys: dict[Slot, StoredKey] = field(default_factory=dict)
    # The attestation key and certificate never change: serialized once (see to_dict).
    _attestation: dict[str, str] | None = field(default=None, compare=False)

    @classmethod
    def new(cls, factory: FactorySettings) -> CardState:
        serial = factory.serial
        if serial is None:
            serial = secrets.randbelow(90_000_000) + 10_000_000
        attestation_key, attestation_certificate = make_attestation_authority(
            serial, factory.attestation_root
        )
        state = cls(
            serial=serial,
            version=factory.version,
            factory=factory,
            management_key=factory.management_key,
            pin=_factory_reference(factory.pin, factory.pin_retries),
            puk=_factory_reference(factory.puk, factory.puk_retries),
            attestation_key=attestation_key,
            attestation_certificate=attestation_certificate,
        )
        state.reset_to_factory()
        return state

    def reset_to_factory(self) -> None:
        """Yubico RESET: every object and key gone, PIN/PUK/management key back to the factory's."""
        self.objects = {ObjectTag.YUBICO_ATTESTATION_CERTIFICATE: self._attestation_object()}
        if self.factory.with_discovery_object:
            self.objects[ObjectTag.DISCOVERY] = FACTORY_DISCOVERY
        self.keys = {}
        self.management_key = self.factory.management_key
        self.management_key_is_default = True
        self.reset_pin_and_puk(self.factory.pin_retries, self.factory.puk_retries)

    def reset_pin_and_puk(self, pin_retries: int, puk_retries: int) -> None:
        """Factory PIN and PUK with new retry limits (Yubico SET PIN RETRIES)."""
        self.pin = _factory_reference(self.factory.pin, pin_retries)
        self.puk = _factory_reference(self.factory.puk, puk_retries)

    def _attestation_object(self) -> bytes:
        """Object 5FFF01 as Yubico stores it: a certificate container (70 cert, 71 00, FE)."""
        der = self.attestation_certificate.public_bytes(serialization.Encoding.DER)
        contents = encode_tlv(0x70, der) + encode_tlv(0x71, b"\x00") + encode_tlv(0xFE, b"")
        return encode_tlv(0x53, contents)

    def copy(self) -> CardState:
        """A snapshot to roll back to; keys, secrets and object bytes are immutable, so shared."""
        return CardState(
            serial=self.serial,
            version=self.version,
            factory=self.factory,
            management_key=self.management_key,
            pin=self.pin.copy(),
            puk=self.puk.copy(),
            attestation_key=self.attestation_key,
            attestation_certificate=self.attestation_certificate,
            management_key_is_default=self.management_key_is_default,
            objects=dict(self.objects),
            keys=dict(self.keys),
            _attestation=self._attestation,
        )

    def object_bytes(self) -> int:
        return sum(len(value) for value in self.objects.values())

    def __repr__(self) -> str:
        return (
            f"CardState(serial={self.serial}, {len(self.objects)} objects, {len(self.keys)} keys)"
        )

    # -- serialization --------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": STATE_FORMAT,
            "serial": self.serial,
            "version": list(self.version),
            "objects": {f"{tag:X}": _b64(value) for tag, value in sorted(self.objects.items())},
            "keys": {
                f"{slot:02X}": {
                    "algorithm": int(key.algorithm),
                    "origin": int(key.origin),
                    "pin_policy": int(key.pin_policy),
                    "touch_policy": int(key.touch_policy),
                    "pkcs8": _b64(key.pkcs8()),
                }
                for slot, key in sorted(self.keys.items())
            },
            "management_key": _management_key_dict(self.management_key),
            "management_key_is_default": self.management_key_is_default,
            "pin": _reference_dict(self.pin),
            "puk": _reference_dict(self.puk),
            "attestation": dict(self._attestation_dict()),
            "factory": {
                "pin": self.factory.pin.reveal().decode("ascii"),
                "puk": self.factory.puk.reveal().decode("utf-8"),
                "management_key": _management_key_dict(self.factory.management_key),
                "pin_retries": self.factory.pin_retries,
                "puk_retries": self.factory.puk_retries,
                "with_discovery_object": self.factory.with_discovery_object,
            },
        }

    def _attestation_dict(self) -> dict[str, str]:
        if self._attestation is None:
            self._attestation = {
                "pkcs8": _b64(_pkcs8(self.attestation_key)),
                "certificate": _b64(
                    self.attestation_certificate.public_bytes(serialization.Encoding.DER)
                ),
            }
        return self._attestation

    @classmethod
    def from_dict(cls, data: Any) -> CardState:
        """Load a state dict; CardStateError names what is wrong (never a secret value)."""
        if not isinstance(data, dict) or data.get("format") != STATE_FORMAT:
            msg = f"not an emulated card state (expected format {STATE_FORMAT!r})"
            raise CardStateError(msg)
        where = "the card state"
        try:
            where = "factory"
            factory_data = data["factory"]
            version = tuple(int(part) for part in data["version"])
            factory = FactorySettings(
                pin=Pin(factory_data["pin"]),
                puk=Puk(factory_data["puk"]),
                management_key=_management_key_from(factory_data["management_key"]),
                pin_retries=int(factory_data["pin_retries"]),
                puk_retries=int(factory_data["puk_retries"]),
                version=version,  # type: ignore[arg-type]
                serial=int(data["serial"]),
                with_discovery_object=bool(factory_data["with_discovery_object"]),
            )
            where = "objects"
            objects = {int(tag, 16): _unb64(value) for tag, value in data["objects"].items()}
            keys: dict[Slot, StoredKey] = {}
            for slot_text, key_data in data["keys"].items():
                where = f"key {slot_text}"
                keys[Slot(int(slot_text, 16))] = _stored_key_from(key_data)
            where = "management key"
            management_key = _management_key_from(data["management_key"])
            where = "PIN"
            pin = _reference_from(data["pin"])
            where = "PUK"
            puk = _reference_from(data["puk"])
            where = "attestation"
            attestation_key = serialization.load_der_private_key(
                _unb64(data["attestation"]["pkcs8"]), password=None
            )
            if not isinstance(attestation_key, ec.EllipticCurvePrivateKey):
                raise TypeError
            attestation_certificate = x509.load_der_x509_certificate(
                _unb64(data["attestation"]["certificate"])
            )
            return cls(
                serial=factory.serial or 0,
                version=factory.version,
                factory=factory,
                management_key=management_key,
                pin=pin,
                puk=puk,
                attestation_key=attestation_key,
                attestation_certificate=attestation_certificate,
                management_key_is_default=bool(data["management_key_is_default"]),
                objects=objects,
                keys=keys,
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            detail = f"missing {exc.args[0]!r}" if isinstance(exc, KeyError) else type(exc).__name__
            msg = f"the stored card state is invalid at {where} ({detail})"
            raise CardStateError(msg) from None


def _factory_reference(value: Pin | Puk, retries: int) -> ReferenceData:
    return ReferenceData(SecretBytes(value.padded), retries, retries)


def _pkcs8(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def _management_key_dict(key: ManagementKey) -> dict[str, Any]:
    return {"algorithm": int(key.algorithm), "key": key.reveal().hex()}


def _management_key_from(data: dict[str, Any]) -> ManagementKey:
    return ManagementKey.from_hex(ManagementKeyAlgorithm(int(data["algorithm"])), data["key"])


def _reference_dict(reference: ReferenceData) -> dict[str, Any]:
    return {
        "value": reference.value.reveal().hex(),
        "retry_limit": reference.retry_limit,
        "retries_left": reference.retries_left,
        "is_default": reference.is_default,
    }


def _reference_from(data: dict[str, Any]) -> ReferenceData:
    value = bytes.fromhex(data["value"])
    limit, left = int(data["retry_limit"]), int(data["retries_left"])
    if len(value) != 8 or not (1 <= limit <= 255 and 0 <= left <= limit):
        msg = "reference data out of range"
        raise ValueError(msg)
    return ReferenceData(SecretBytes(value), limit, left, bool(data["is_default"]))


def _stored_key_from(data: dict[str, Any]) -> StoredKey:
    private_key = serialization.load_der_private_key(_unb64(data["pkcs8"]), password=None)
    algorithm = KeyAlgorithm(int(data["algorithm"]))
    if algorithm_of(private_key) is not algorithm:  # type: ignore[arg-type]
        msg = "the stored key does not match its algorithm"
        raise ValueError(msg)
    return StoredKey(
        algorithm=algorithm,
        private_key=private_key,  # type: ignore[arg-type]
        origin=KeyOrigin(int(data["origin"])),
        pin_policy=PinPolicy(int(data["pin_policy"])),
        touch_policy=TouchPolicy(int(data["touch_policy"])),
    )
