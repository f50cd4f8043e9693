"""The emulator factory's attestation root: it signs each new card's F9 certificate, as Yubico's
PIV attestation CA signs a YubiKey's; without one a card's F9 certificate is its own."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature

from cardedge.emulator import (
    AttestationRoot,
    FactorySettings,
    PivCardEmulator,
    make_attestation_root,
)
from cardedge.emulator.state import CardState
from cardedge.piv import KeyAlgorithm, PivClient, Slot
from cardedge.piv.secrets import default_management_key
from cardedge.transports.emulated import EmulatedTransport

ROOT = make_attestation_root()


def _client(factory: FactorySettings) -> PivClient:
    return PivClient.connect(EmulatedTransport(PivCardEmulator(factory=factory)))


def test_a_card_made_with_a_factory_root_has_its_f9_certificate_signed_by_it() -> None:
    client = _client(FactorySettings(attestation_root=ROOT))
    device = client.read_attestation_certificate()
    device.verify_directly_issued_by(ROOT.certificate)
    client.authenticate(default_management_key())
    public_key = client.generate_key(Slot.PIV_AUTHENTICATION, KeyAlgorithm.ECC_P256)
    statement = client.attest(Slot.PIV_AUTHENTICATION)
    statement.verify_directly_issued_by(device)
    assert statement.public_key() == public_key


def test_without_a_root_the_f9_certificate_is_self_signed() -> None:
    device = _client(FactorySettings()).read_attestation_certificate()
    device.verify_directly_issued_by(device)
    with pytest.raises((ValueError, InvalidSignature)):
        device.verify_directly_issued_by(ROOT.certificate)


def test_the_root_signs_cards_once_and_is_not_stored_with_them() -> None:
    state = CardState.new(FactorySettings(attestation_root=ROOT))
    stored = state.to_dict()
    assert ROOT.certificate.subject.rfc4514_string() not in repr(stored)
    again = CardState.from_dict(stored)
    assert again.attestation_certificate == state.attestation_certificate
    assert again.factory.attestation_root is None


def test_a_root_round_trips_through_its_pem_file_and_hides_its_key() -> None:
    again = AttestationRoot.from_pem(ROOT.to_pem())
    assert again.certificate == ROOT.certificate
    assert again.key.private_numbers() == ROOT.key.private_numbers()
    assert repr(ROOT) == f"AttestationRoot({ROOT.certificate.subject.rfc4514_string()})"
    constraints = ROOT.certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.value.ca


def test_a_pem_file_whose_certificate_is_another_key_is_refused() -> None:
    other = make_attestation_root()
    mixed = ROOT.to_pem().split(b"-----BEGIN CERTIFICATE-----")[0] + other.certificate_pem()
    with pytest.raises(ValueError, match="not the private key's"):
        AttestationRoot.from_pem(mixed)
    with pytest.raises(ValueError, match="PEM private key"):
        AttestationRoot.from_pem(b"nothing here")
