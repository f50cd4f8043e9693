"""Key attestation: proof from the card that a slot's key was generated on it (Yubico PIV
attestation; docs/signer.md, "Attestation").

A YubiKey holds an attestation key (F9) whose certificate (object 5FFF01) is signed by Yubico's
PIV attestation CA, directly or through intermediates. ATTEST on a slot returns a certificate for
that slot's public key, signed by the F9 key, with Yubico's extensions (firmware .3.3, serial
.3.7, PIN and touch policy .3.8); the card refuses to attest an imported key. So a slot
statement that verifies up to a trusted root says: this public key was generated on a genuine
card, in this slot, under these policies.

`attestation_verify` checks one slot; it imports no Django (the signer process calls it with what
the station journalled, and its roots from `attestation_trust_load`). Every failure is one
`AttestationInvalid` whose message names what failed, never a key.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import NameOID

from config.errors import DomainError

YUBICO_FIRMWARE_OID = x509.ObjectIdentifier("1.3.6.1.4.1.41482.3.3")
YUBICO_SERIAL_OID = x509.ObjectIdentifier("1.3.6.1.4.1.41482.3.7")
YUBICO_POLICY_OID = x509.ObjectIdentifier("1.3.6.1.4.1.41482.3.8")
# Yubico PIN policy (.3.8, first byte) and touch policy (second byte) values.
PIN_POLICIES = {1: "never", 2: "once", 3: "always", 4: "match-once", 5: "match-always"}
TOUCH_POLICIES = {1: "never", 2: "always", 3: "cached"}
# Root -> intermediates -> F9: Yubico's chains have at most two intermediates.
MAX_INTERMEDIATES = 4


class AttestationInvalid(DomainError):
    """A slot's attestation is missing or does not prove what it must."""

    code = "attestation_invalid"


@dataclass(frozen=True)
class AttestationTrust:
    """What attestations are checked against: trust anchors (self-signed roots) and the
    intermediate CA certificates a vendor publishes between a root and its cards' F9s."""

    roots: tuple[x509.Certificate, ...]
    intermediates: tuple[x509.Certificate, ...] = ()


@dataclass(frozen=True)
class Attestation:
    """What a verified slot attestation says."""

    slot: str  # "9C"
    serial: int | None
    firmware: tuple[int, int, int] | None
    pin_policy: str | None
    touch_policy: str | None
    device_subject: str  # the F9 certificate's subject
    root_subject: str  # the trust anchor it chains to

    def as_dict(self) -> dict[str, object]:
        return {
            "slot": self.slot,
            "serial": self.serial,
            "firmware": ".".join(map(str, self.firmware)) if self.firmware else None,
            "pin_policy": self.pin_policy,
            "touch_policy": self.touch_policy,
            "device": self.device_subject,
            "root": self.root_subject,
        }


def attestation_trust_load(directory: Path | str | None) -> AttestationTrust:
    """The certificates of every `*.pem` / `*.crt` file in `directory` (several per file
    allowed): self-signed ones are roots, the others intermediates. None or a missing directory
    is no trust at all (every attestation then fails, saying so)."""
    if directory is None:
        return AttestationTrust(roots=())
    folder = Path(directory)
    if not folder.is_dir():
        return AttestationTrust(roots=())
    roots: list[x509.Certificate] = []
    intermediates: list[x509.Certificate] = []
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in {".pem", ".crt"} or not path.is_file():
            continue
        try:
            certificates = x509.load_pem_x509_certificates(path.read_bytes())
        except ValueError:
            msg = f"attestation roots: {path.name} is not a PEM certificate file"
            raise AttestationInvalid(msg) from None
        for certificate in certificates:
            (roots if _self_signed(certificate) else intermediates).append(certificate)
    return AttestationTrust(roots=tuple(roots), intermediates=tuple(intermediates))


def attestation_verify(
    *,
    device_certificate: bytes,
    slot_certificate: bytes,
    trust: AttestationTrust,
    public_key: CertificatePublicKeyTypes,
    slot: str,
    at: dt.datetime | None = None,
) -> Attestation:
    """Check that `slot_certificate` (ATTEST's answer, DER) attests `public_key` in `slot`
    ("9C"), signed by the card's F9 key whose certificate (`device_certificate`, DER) chains to
    one of `trust`'s roots, every certificate valid at `at` (now). AttestationInvalid otherwise."""
    slot = slot.upper()
    when = at or dt.datetime.now(dt.UTC)
    try:
        device, chain = _device_chain(device_certificate, trust)
    except AttestationInvalid as invalid:
        raise AttestationInvalid(f"slot {slot}: {invalid.message}") from None
    statement = _load(slot_certificate, f"the slot {slot} attestation")
    if not _issued_by(statement, device):
        msg = f"slot {slot}: the attestation is not signed by the card's attestation (F9) key"
        raise AttestationInvalid(msg)
    for certificate, what in [
        (statement, "attestation"),
        (device, "card's attestation (F9) certificate"),
        *((ca, f"attestation CA {_subject(ca)}") for ca in chain),
    ]:
        _check_validity(certificate, when, f"slot {slot}: the {what}")
    if _spki(statement.public_key()) != _spki(public_key):
        msg = f"slot {slot}: the attestation is for another public key than the one journalled"
        raise AttestationInvalid(msg)
    attested = _attested_slot(statement)
    if attested != slot:
        msg = (
            f"slot {slot}: the attestation is for slot {attested or 'unnamed'} "
            f"({_subject(statement)})"
        )
        raise AttestationInvalid(msg)
    return _read_extensions(statement, slot, device, chain[-1])


def _load(der: bytes, what: str) -> x509.Certificate:
    try:
        return x509.load_der_x509_certificate(der)
    except ValueError:
        msg = f"{what} is not a DER certificate"
        raise AttestationInvalid(msg) from None


def _subject(certificate: x509.Certificate) -> str:
    return certificate.subject.rfc4514_string()


def _issued_by(certificate: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Names chain and `issuer`'s key made the signature (RSA PKCS#1 v1.5 or ECDSA)."""
    try:
        certificate.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _self_signed(certificate: x509.Certificate) -> bool:
    return _issued_by(certificate, certificate)


def _is_ca(certificate: x509.Certificate) -> bool:
    """An issuer of other attestation certificates: a CA certificate (RFC 5280 §4.2.1.9)."""
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    except x509.ExtensionNotFound:
        return False
    return constraints.value.ca


@functools.lru_cache(maxsize=16)
def _device_chain(
    device_certificate: bytes, trust: AttestationTrust
) -> tuple[x509.Certificate, tuple[x509.Certificate, ...]]:
    """The card's F9 certificate and its chain up to a trusted root, verified once for the
    slots of a card (the slots of one card share it; the trust is immutable). Validity dates
    are checked by the caller, at its own time."""
    device = _load(device_certificate, "the card's attestation (F9) certificate")
    return device, tuple(_chain_to_root(device, trust))


def _chain_to_root(device: x509.Certificate, trust: AttestationTrust) -> list[x509.Certificate]:
    """The CA certificates from the F9 certificate's issuer up to a trusted root (the root
    last). Roots are matched by key and name, so a root re-issued with the same key counts."""
    if not trust.roots:
        msg = (
            "no attestation root is configured (CARDFORGE_ATTESTATION_ROOTS), "
            "so no attestation can be trusted"
        )
        raise AttestationInvalid(msg)
    chain: list[x509.Certificate] = []
    current = device
    for _ in range(MAX_INTERMEDIATES + 1):
        for root in trust.roots:
            if _issued_by(current, root):
                return [*chain, root]
        issuer = next(
            (
                ca
                for ca in trust.intermediates
                if ca not in chain and _is_ca(ca) and _issued_by(current, ca)
            ),
            None,
        )
        if issuer is None:
            break
        chain.append(issuer)
        current = issuer
    msg = (
        f"the card's attestation certificate ({_subject(device)}, issued by "
        f"{current.issuer.rfc4514_string()}) does not chain to a configured attestation root"
    )
    raise AttestationInvalid(msg)


def _check_validity(certificate: x509.Certificate, when: dt.datetime, what: str) -> None:
    if when < certificate.not_valid_before_utc:
        msg = f"{what} is not valid before {certificate.not_valid_before_utc:%Y-%m-%d %H:%M} UTC"
        raise AttestationInvalid(msg)
    if when > certificate.not_valid_after_utc:
        msg = f"{what} expired on {certificate.not_valid_after_utc:%Y-%m-%d %H:%M} UTC"
        raise AttestationInvalid(msg)


def _spki(public_key: CertificatePublicKeyTypes) -> bytes:
    return public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def _attested_slot(statement: x509.Certificate) -> str | None:
    """Yubico names the slot at the end of the subject's CN: "YubiKey PIV Attestation 9c"."""
    names = statement.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if len(names) != 1:
        return None
    value = names[0].value
    text = value if isinstance(value, str) else value.decode("utf-8", "replace")
    head, _, last = text.rpartition(" ")
    if not head.endswith("Attestation") or len(last) != 2:
        return None
    return last.upper()


def _extension_value(certificate: x509.Certificate, oid: x509.ObjectIdentifier) -> bytes | None:
    try:
        value = certificate.extensions.get_extension_for_oid(oid).value
    except x509.ExtensionNotFound:
        return None
    return value.value if isinstance(value, x509.UnrecognizedExtension) else None


def _der_integer(data: bytes) -> int | None:
    """Yubico's serial extension holds a DER INTEGER (tag 02, short length)."""
    if len(data) < 3 or data[0] != 0x02 or data[1] != len(data) - 2:
        return None
    return int.from_bytes(data[2:], "big", signed=True)


def _read_extensions(
    statement: x509.Certificate, slot: str, device: x509.Certificate, root: x509.Certificate
) -> Attestation:
    firmware = _extension_value(statement, YUBICO_FIRMWARE_OID)
    serial = _extension_value(statement, YUBICO_SERIAL_OID)
    policy = _extension_value(statement, YUBICO_POLICY_OID)
    return Attestation(
        slot=slot,
        serial=_der_integer(serial) if serial else None,
        firmware=(firmware[0], firmware[1], firmware[2])
        if firmware and len(firmware) == 3
        else None,
        pin_policy=PIN_POLICIES.get(policy[0], f"{policy[0]:02x}") if policy else None,
        touch_policy=(
            TOUCH_POLICIES.get(policy[1], f"{policy[1]:02x}")
            if policy and len(policy) > 1
            else None
        ),
        device_subject=_subject(device),
        root_subject=_subject(root),
    )
