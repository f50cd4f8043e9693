"""pki.attestation: a slot's attestation verifies only if it is signed by the card's F9 key,
the F9 certificate chains to a configured root, every certificate is valid, and it names the
journalled public key and slot."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from cardedge.emulator.attestation import (
    AttestationRoot,
    attest,
    make_attestation_authority,
    make_attestation_root,
)
from cardedge.piv.constants import PinPolicy, Slot, TouchPolicy
from pki.attestation import (
    AttestationInvalid,
    AttestationTrust,
    attestation_trust_load,
    attestation_verify,
)

ROOT = make_attestation_root()
NOW = dt.datetime.now(dt.UTC)


def _der(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(Encoding.DER)


def _intermediate(root: AttestationRoot, *, ca: bool = True) -> AttestationRoot:
    """A CA between the root and the cards, as Yubico's newer chain has."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Attestation Intermediate A")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(root.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - dt.timedelta(days=1))
        .not_valid_after(NOW + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(root.key, hashes.SHA256())
    )
    return AttestationRoot(key, certificate)


class Card:
    """An attesting card's F9 key and certificate, signed by `issuer`."""

    def __init__(self, issuer: AttestationRoot | None = ROOT, serial: int = 12345678) -> None:
        self.serial = serial
        self.key, self.device = make_attestation_authority(serial, issuer)

    def statement(self, slot: Slot, public_key) -> x509.Certificate:
        return attest(
            authority_key=self.key,
            authority_certificate=self.device,
            slot=slot,
            public_key=public_key,
            serial=self.serial,
            version=(5, 4, 3),
            pin_policy=PinPolicy.ALWAYS,
            touch_policy=TouchPolicy.NEVER,
        )


def _verify(card: Card, statement: x509.Certificate, public_key, *, slot="9C", trust=None, at=None):
    return attestation_verify(
        device_certificate=_der(card.device),
        slot_certificate=_der(statement),
        trust=trust or AttestationTrust(roots=(ROOT.certificate,)),
        public_key=public_key,
        slot=slot,
        at=at,
    )


@pytest.fixture
def key():
    return ec.generate_private_key(ec.SECP256R1()).public_key()


def test_a_genuine_attestation_verifies_and_says_what_the_card_said(key) -> None:
    card = Card()
    attestation = _verify(card, card.statement(Slot.DIGITAL_SIGNATURE, key), key, slot="9c")
    assert attestation.slot == "9C"
    assert attestation.serial == 12345678
    assert attestation.firmware == (5, 4, 3)
    assert (attestation.pin_policy, attestation.touch_policy) == ("always", "never")
    assert attestation.root_subject == ROOT.certificate.subject.rfc4514_string()
    assert attestation.as_dict()["firmware"] == "5.4.3"


def test_a_card_whose_f9_certificate_another_root_signed_is_refused(key) -> None:
    card = Card(issuer=make_attestation_root("A modified emulator's root"))
    with pytest.raises(AttestationInvalid, match="does not chain to a configured attestation root"):
        _verify(card, card.statement(Slot.DIGITAL_SIGNATURE, key), key)


def test_a_self_signed_f9_certificate_is_refused(key) -> None:
    card = Card(issuer=None)
    with pytest.raises(AttestationInvalid, match="does not chain"):
        _verify(card, card.statement(Slot.DIGITAL_SIGNATURE, key), key)


def test_no_configured_root_trusts_nothing(key) -> None:
    card = Card()
    with pytest.raises(AttestationInvalid, match="no attestation root is configured"):
        _verify(card, card.statement(Slot.DIGITAL_SIGNATURE, key), key, trust=AttestationTrust(()))


def test_an_attestation_of_another_public_key_is_refused(key) -> None:
    card = Card()
    other = ec.generate_private_key(ec.SECP256R1()).public_key()
    with pytest.raises(AttestationInvalid, match=r"slot 9C: .* another public key"):
        _verify(card, card.statement(Slot.DIGITAL_SIGNATURE, other), key)


def test_an_attestation_of_another_slot_is_refused(key) -> None:
    card = Card()
    with pytest.raises(AttestationInvalid, match="slot 9C: the attestation is for slot 9A"):
        _verify(card, card.statement(Slot.PIV_AUTHENTICATION, key), key)


def test_a_statement_signed_by_another_cards_f9_key_is_refused(key) -> None:
    card, other = Card(), Card(serial=87654321)
    with pytest.raises(AttestationInvalid, match="not signed by the card's attestation"):
        _verify(card, other.statement(Slot.DIGITAL_SIGNATURE, key), key)


@pytest.mark.parametrize(
    ("at", "message"),
    [
        (NOW + dt.timedelta(days=365 * 21), "slot 9C: the attestation expired on"),
        (NOW - dt.timedelta(days=1), "slot 9C: the attestation is not valid before"),
    ],
    ids=["expired", "not-yet-valid"],
)
def test_dates_outside_the_certificates_validity_are_refused(key, at, message) -> None:
    card = Card()
    with pytest.raises(AttestationInvalid, match=message):
        _verify(card, card.statement(Slot.DIGITAL_SIGNATURE, key), key, at=at)


def test_an_expired_root_is_refused(key) -> None:
    card = Card()
    statement = card.statement(Slot.DIGITAL_SIGNATURE, key)
    later = ROOT.certificate.not_valid_after_utc + dt.timedelta(days=1)
    with pytest.raises(AttestationInvalid, match="expired"):
        _verify(card, statement, key, at=later)


def test_a_chain_through_an_intermediate_verifies_when_the_intermediate_is_given(key) -> None:
    intermediate = _intermediate(ROOT)
    card = Card(issuer=intermediate)
    statement = card.statement(Slot.DIGITAL_SIGNATURE, key)
    with pytest.raises(AttestationInvalid, match="does not chain"):
        _verify(card, statement, key)
    trust = AttestationTrust(roots=(ROOT.certificate,), intermediates=(intermediate.certificate,))
    assert _verify(card, statement, key, trust=trust).slot == "9C"


def test_an_intermediate_that_is_not_a_ca_does_not_count(key) -> None:
    intermediate = _intermediate(ROOT, ca=False)
    card = Card(issuer=intermediate)
    trust = AttestationTrust(roots=(ROOT.certificate,), intermediates=(intermediate.certificate,))
    with pytest.raises(AttestationInvalid, match="does not chain"):
        _verify(card, card.statement(Slot.DIGITAL_SIGNATURE, key), key, trust=trust)


def test_certificates_that_are_not_der_are_refused(key) -> None:
    with pytest.raises(AttestationInvalid, match=r"F9\) certificate is not a DER certificate"):
        attestation_verify(
            device_certificate=b"junk",
            slot_certificate=b"junk",
            trust=AttestationTrust(roots=(ROOT.certificate,)),
            public_key=key,
            slot="9C",
        )


def test_the_roots_directory_sorts_roots_from_intermediates(tmp_path: Path) -> None:
    intermediate = _intermediate(ROOT)
    (tmp_path / "vendor-root.pem").write_bytes(ROOT.certificate_pem())
    (tmp_path / "vendor-intermediate.crt").write_bytes(intermediate.certificate_pem())
    (tmp_path / "README").write_text("not a certificate, not read")
    trust = attestation_trust_load(tmp_path)
    assert trust.roots == (ROOT.certificate,)
    assert trust.intermediates == (intermediate.certificate,)
    assert attestation_trust_load(tmp_path / "missing") == AttestationTrust(roots=())
    assert attestation_trust_load(None) == AttestationTrust(roots=())
    (tmp_path / "broken.pem").write_text("-----BEGIN CERTIFICATE-----\nAAAA\n")
    with pytest.raises(AttestationInvalid, match=r"broken\.pem is not a PEM certificate file"):
        attestation_trust_load(tmp_path)
