"""On-card keys: GENERATE, signatures that verify with `cryptography`, ECDH, IMPORT, ATTEST."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from cardedge.piv import (
    CertificateContainer,
    KeyAlgorithm,
    ObjectTag,
    Pin,
    PinPolicy,
    PivClient,
    SecurityStatusNotSatisfied,
    Slot,
)
from cardedge.piv.errors import IncorrectData, ReferencedDataNotFound
from cardedge.piv.secrets import default_management_key

PIN = Pin("123456")
MESSAGE = b"e-prescription #42: amoxicillin 1 g, 3x daily, 7 days"


def _verify(
    public_key: object, signature: bytes, message: bytes, hash_algorithm: hashes.HashAlgorithm
) -> None:
    if isinstance(public_key, rsa.RSAPublicKey):
        public_key.verify(signature, message, padding.PKCS1v15(), hash_algorithm)
    else:
        assert isinstance(public_key, ec.EllipticCurvePublicKey)
        public_key.verify(signature, message, ec.ECDSA(hash_algorithm))


@pytest.mark.parametrize(
    ("slot", "algorithm"),
    [
        (Slot.PIV_AUTHENTICATION, KeyAlgorithm.ECC_P256),
        (Slot.KEY_MANAGEMENT, KeyAlgorithm.ECC_P384),
        (Slot.PIV_AUTHENTICATION, KeyAlgorithm.RSA2048),
    ],
    ids=["9A-P256", "9D-P384", "9A-RSA2048"],
)
def test_generated_keys_sign_and_signatures_verify(
    client: PivClient, slot: Slot, algorithm: KeyAlgorithm
) -> None:
    client.authenticate(default_management_key())
    public_key = client.generate_key(slot, algorithm)
    with pytest.raises(SecurityStatusNotSatisfied):
        client.sign(slot, MESSAGE, algorithm=algorithm)  # 9A/9D need the PIN
    client.verify_pin(PIN)
    for hash_algorithm in (hashes.SHA256(), hashes.SHA384()):
        signature = client.sign(slot, MESSAGE, algorithm=algorithm, hash_algorithm=hash_algorithm)
        _verify(public_key, signature, MESSAGE, hash_algorithm)


def test_the_signature_key_needs_the_pin_before_every_use(client: PivClient) -> None:
    client.authenticate(default_management_key())
    public_key = client.generate_key(Slot.DIGITAL_SIGNATURE, KeyAlgorithm.ECC_P256)
    client.verify_pin(PIN)
    signature = client.sign(Slot.DIGITAL_SIGNATURE, MESSAGE, algorithm=KeyAlgorithm.ECC_P256)
    _verify(public_key, signature, MESSAGE, hashes.SHA256())
    with pytest.raises(SecurityStatusNotSatisfied):  # PIN-always (SP 800-73-4 Part 1 §3.2.2)
        client.sign(Slot.DIGITAL_SIGNATURE, MESSAGE, algorithm=KeyAlgorithm.ECC_P256)
    client.verify_pin(PIN)
    client.sign(Slot.DIGITAL_SIGNATURE, MESSAGE, algorithm=KeyAlgorithm.ECC_P256)


def test_card_authentication_key_works_without_pin(client: PivClient) -> None:
    client.authenticate(default_management_key())
    public_key = client.generate_key(Slot.CARD_AUTHENTICATION, KeyAlgorithm.ECC_P256)
    client.select()  # no PIN, no management key
    signature = client.sign(Slot.CARD_AUTHENTICATION, MESSAGE, algorithm=KeyAlgorithm.ECC_P256)
    _verify(public_key, signature, MESSAGE, hashes.SHA256())


def test_pin_policy_never_on_a_signature_key(client: PivClient) -> None:
    client.authenticate(default_management_key())
    client.generate_key(Slot.RETIRED_1, KeyAlgorithm.ECC_P256, pin_policy=PinPolicy.NEVER)
    client.sign(Slot.RETIRED_1, MESSAGE, algorithm=KeyAlgorithm.ECC_P256)
    metadata = client.get_slot_metadata(Slot.RETIRED_1)
    assert metadata.pin_policy is PinPolicy.NEVER
    assert metadata.generated_on_card


@pytest.mark.parametrize(
    "algorithm", [KeyAlgorithm.ECC_P256, KeyAlgorithm.ECC_P384], ids=["P256", "P384"]
)
def test_ecdh_agrees_with_the_peer(client: PivClient, algorithm: KeyAlgorithm) -> None:
    client.authenticate(default_management_key())
    card_public = client.generate_key(Slot.KEY_MANAGEMENT, algorithm)
    assert isinstance(card_public, ec.EllipticCurvePublicKey)
    peer = ec.generate_private_key(card_public.curve)
    client.verify_pin(PIN)
    shared = client.ecdh(Slot.KEY_MANAGEMENT, peer.public_key())
    assert shared == peer.exchange(ec.ECDH(), card_public)


def test_using_an_empty_slot_or_the_wrong_algorithm(client: PivClient) -> None:
    client.verify_pin(PIN)
    with pytest.raises(ReferencedDataNotFound):
        client.sign(Slot.KEY_MANAGEMENT, MESSAGE, algorithm=KeyAlgorithm.ECC_P256)
    client.authenticate(default_management_key())
    client.generate_key(Slot.KEY_MANAGEMENT, KeyAlgorithm.ECC_P256)
    with pytest.raises(IncorrectData):
        client.sign(Slot.KEY_MANAGEMENT, MESSAGE, algorithm=KeyAlgorithm.ECC_P384)


def test_a_new_key_replaces_the_old_one(client: PivClient) -> None:
    client.authenticate(default_management_key())
    first = client.generate_key(Slot.PIV_AUTHENTICATION, KeyAlgorithm.ECC_P256)
    second = client.generate_key(Slot.PIV_AUTHENTICATION, KeyAlgorithm.ECC_P256)
    assert first != second
    assert client.get_slot_metadata(Slot.PIV_AUTHENTICATION).public_key == second


@pytest.mark.parametrize(
    "private_key",
    [ec.generate_private_key(ec.SECP384R1()), rsa.generate_private_key(65537, 2048)],
    ids=["P384", "RSA2048"],
)
def test_imported_keys_sign_but_are_not_attested(
    client: PivClient, private_key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
) -> None:
    algorithm = (
        KeyAlgorithm.ECC_P384
        if isinstance(private_key, ec.EllipticCurvePrivateKey)
        else KeyAlgorithm.RSA2048
    )
    client.authenticate(default_management_key())
    client.import_key(Slot.KEY_MANAGEMENT, private_key)
    client.verify_pin(PIN)
    signature = client.sign(Slot.KEY_MANAGEMENT, MESSAGE, algorithm=algorithm)
    _verify(private_key.public_key(), signature, MESSAGE, hashes.SHA256())
    metadata = client.get_slot_metadata(Slot.KEY_MANAGEMENT)
    assert not metadata.generated_on_card
    assert metadata.public_key == private_key.public_key()
    with pytest.raises(IncorrectData):
        client.attest(Slot.KEY_MANAGEMENT)


def test_attestation_vouches_for_a_generated_key(client: PivClient) -> None:
    client.authenticate(default_management_key())
    public_key = client.generate_key(Slot.DIGITAL_SIGNATURE, KeyAlgorithm.ECC_P256)
    attestation = client.attest(Slot.DIGITAL_SIGNATURE)
    authority = client.read_attestation_certificate()
    assert (
        authority
        == CertificateContainer.decode(
            client.get_object(ObjectTag.YUBICO_ATTESTATION_CERTIFICATE)
        ).certificate
    )
    assert attestation.public_key() == public_key
    attestation.verify_directly_issued_by(authority)
    policy = attestation.extensions.get_extension_for_oid(
        x509.ObjectIdentifier("1.3.6.1.4.1.41482.3.8")
    )
    assert policy.value.value == bytes([PinPolicy.ALWAYS, 0x01])  # 9C: PIN always, no touch
