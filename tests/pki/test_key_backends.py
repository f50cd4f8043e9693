"""Both key backends behind the one interface: create, public key, sign certificates, CRLs and
OCSP responses through cryptography's builders; derive card management keys; refuse export."""

from __future__ import annotations

import datetime as dt
import secrets
import threading

import pkcs11
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.kdf.kbkdf import KBKDFHMAC, CounterLocation, Mode
from cryptography.x509 import ocsp
from cryptography.x509.oid import NameOID
from django.core.exceptions import ImproperlyConfigured

from pki.key_backends import KeyAlgorithm, KeyBackendError, key_backend
from pki.key_backends.base import CARD_MANAGEMENT_KDF_LABEL
from pki.models import SoftwareKey

BACKENDS = [
    pytest.param("software", id="software"),
    pytest.param("pkcs11", id="pkcs11", marks=pytest.mark.softhsm),
]


def _label(prefix: str) -> str:
    return f"test-{prefix}-{secrets.token_hex(4)}"


# RSA-3072 in SoftHSM2 is exercised by the session's HSM root CA (conftest.HSM_HIERARCHY).
KEY_CASES = [
    pytest.param(backend.values[0], algorithm, id=f"{backend.id}-{algorithm}", marks=backend.marks)
    for backend in BACKENDS
    for algorithm in KeyAlgorithm
    if not (backend.id == "pkcs11" and algorithm == KeyAlgorithm.RSA_3072)
]


@pytest.mark.django_db
@pytest.mark.parametrize(("backend_alias", "algorithm"), KEY_CASES)
def test_keys_sign_certificates_crls_and_ocsp(backend_alias, algorithm, softhsm):
    backend = key_backend(backend_alias)
    handle = backend.create_key(label=_label(algorithm.value), algorithm=algorithm)
    assert backend.has_key(handle)
    key = backend.private_key(handle)
    public = backend.public_key(handle)
    assert key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) == public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert KeyAlgorithm.of(public) == algorithm
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "backend test")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, algorithm.signature_hash)
    )
    certificate.verify_directly_issued_by(certificate)
    crl = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(name)
        .last_update(now)
        .next_update(now + dt.timedelta(days=1))
        .sign(key, algorithm.signature_hash)
    )
    assert crl.is_signature_valid(public)
    response = (
        ocsp.OCSPResponseBuilder()
        .add_response(
            certificate,
            certificate,
            hashes.SHA256(),
            ocsp.OCSPCertStatus.GOOD,
            now,
            None,
            None,
            None,
        )
        .responder_id(ocsp.OCSPResponderEncoding.HASH, certificate)
        .sign(key, algorithm.signature_hash)
    )
    assert response.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
    signature = backend.sign(handle, b"data", algorithm=hashes.SHA256())
    if algorithm.is_ec:
        from cryptography.hazmat.primitives.asymmetric import ec

        public.verify(signature, b"data", ec.ECDSA(hashes.SHA256()))
    else:
        from cryptography.hazmat.primitives.asymmetric import padding

        public.verify(signature, b"data", padding.PKCS1v15(), hashes.SHA256())


@pytest.mark.django_db
@pytest.mark.parametrize("backend_alias", BACKENDS)
def test_labels_are_unique_and_checked(backend_alias, softhsm):
    backend = key_backend(backend_alias)
    label = _label("dup")
    backend.create_key(label=label, algorithm=KeyAlgorithm.EC_P256)
    with pytest.raises(KeyBackendError, match="already holds"):
        backend.create_key(label=label, algorithm=KeyAlgorithm.EC_P256)
    with pytest.raises(KeyBackendError, match="already holds"):
        backend.create_secret_key(label=label)
    with pytest.raises(KeyBackendError, match="must be"):
        backend.create_key(label="bad label!", algorithm=KeyAlgorithm.EC_P256)
    assert not backend.has_key(_label("absent"))


@pytest.mark.django_db
@pytest.mark.parametrize("backend_alias", BACKENDS)
def test_derivation_is_deterministic_and_per_card(backend_alias, softhsm):
    backend = key_backend(backend_alias)
    master = backend.create_secret_key(label=_label("master"))
    first = backend.derive_card_management_key(b"card-0001", 24, master=master)
    assert len(first) == 24
    assert backend.derive_card_management_key(b"card-0001", 24, master=master) == first
    assert backend.derive_card_management_key(b"card-0002", 24, master=master) != first
    # L is part of the input (SP 800-108 §4): a shorter key is not a prefix of a longer one.
    assert backend.derive_card_management_key(b"card-0001", 16, master=master) != first[:16]
    assert len(backend.derive_card_management_key(b"card-0001", 64, master=master)) == 64
    other = backend.create_secret_key(label=_label("master"))
    assert backend.derive_card_management_key(b"card-0001", 24, master=other) != first
    with pytest.raises(ValueError, match="non-empty bytes"):
        backend.derive_card_management_key(b"", 24, master=master)
    with pytest.raises(ValueError, match="length"):
        backend.derive_card_management_key(b"card", 65, master=master)


def _reference_kdf(secret: bytes, card: bytes, length: int) -> bytes:
    """NIST SP 800-108 counter mode as cryptography implements it, independently of ours."""
    return KBKDFHMAC(
        algorithm=hashes.SHA256(),
        mode=Mode.CounterMode,
        length=length,
        rlen=4,
        llen=4,
        location=CounterLocation.BeforeFixed,
        label=CARD_MANAGEMENT_KDF_LABEL,
        context=card,
        fixed=None,
    ).derive(secret)


@pytest.mark.django_db
def test_software_derivation_matches_sp800_108_reference():
    backend = key_backend("software")
    label = backend.create_secret_key(label=_label("master"))
    secret = backend._decrypt(SoftwareKey.objects.get(backend="software", label=label))
    for length in (16, 24, 32, 40):
        assert backend.derive_card_management_key(b"\x01" * 16, length, master=label) == (
            _reference_kdf(secret, b"\x01" * 16, length)
        )


@pytest.mark.softhsm
def test_pkcs11_derivation_matches_the_reference_for_a_known_master(softhsm):
    """The HSM computes the same KDF (CKM_SHA256_HMAC) as the software backend would for the
    same master: a known secret is imported for this test only."""
    backend = key_backend("pkcs11")
    secret = secrets.token_bytes(32)
    label = _label("imported")
    with backend._session() as session:
        session.create_object(
            {
                pkcs11.Attribute.CLASS: pkcs11.ObjectClass.SECRET_KEY,
                pkcs11.Attribute.KEY_TYPE: pkcs11.KeyType.GENERIC_SECRET,
                pkcs11.Attribute.TOKEN: True,
                pkcs11.Attribute.SIGN: True,
                pkcs11.Attribute.SENSITIVE: True,
                pkcs11.Attribute.LABEL: label,
                pkcs11.Attribute.VALUE: secret,
            }
        )
    for length in (16, 24, 32, 48):
        assert backend.derive_card_management_key(b"GUID-1234", length, master=label) == (
            _reference_kdf(secret, b"GUID-1234", length)
        )


@pytest.mark.softhsm
def test_pkcs11_keys_never_leave_the_token(softhsm):
    backend = key_backend("pkcs11")
    handle = backend.create_key(label=_label("sealed"), algorithm=KeyAlgorithm.EC_P256)
    master = backend.create_secret_key(label=_label("sealed-master"))
    with backend._session() as session:
        for object_class, label in (
            (pkcs11.ObjectClass.PRIVATE_KEY, handle),
            (pkcs11.ObjectClass.SECRET_KEY, master),
        ):
            key = session.get_key(object_class=object_class, label=label)
            assert key[pkcs11.Attribute.SENSITIVE] is True
            assert key[pkcs11.Attribute.EXTRACTABLE] is False
            with pytest.raises(pkcs11.AttributeSensitive):
                key[pkcs11.Attribute.VALUE]
    with pytest.raises(TypeError, match="stays in key backend 'pkcs11'"):
        backend.private_key(handle).private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


@pytest.mark.softhsm
def test_pkcs11_pool_signs_from_many_threads(softhsm):
    backend = key_backend("pkcs11")
    handle = backend.create_key(label=_label("pool"), algorithm=KeyAlgorithm.EC_P256)
    public = backend.public_key(handle)
    errors = []

    def work():
        from cryptography.hazmat.primitives.asymmetric import ec

        try:
            for index in range(25):
                data = f"message {index}".encode()
                public.verify(
                    backend.sign(handle, data, algorithm=hashes.SHA256()),
                    data,
                    ec.ECDSA(hashes.SHA256()),
                )
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert backend._open_sessions <= backend._pool_size


@pytest.mark.django_db
def test_software_keys_are_bound_to_their_label_and_kek(settings):
    backend = key_backend("software")
    first = backend.create_key(label=_label("a"), algorithm=KeyAlgorithm.EC_P256)
    second = backend.create_key(label=_label("b"), algorithm=KeyAlgorithm.EC_P256)
    backend.forget()
    # A ciphertext moved onto another label does not decrypt (GCM additional data).
    moved = SoftwareKey.objects.get(label=first).encrypted
    SoftwareKey.objects.filter(label=second).update(encrypted=moved)
    with pytest.raises(KeyBackendError, match="altered"):
        backend.private_key(second)
    # Another KEK is told apart from damage, and the message names no key material.
    from config.env import Secret

    settings.CARDFORGE_KEK = Secret(secrets.token_bytes(32))
    with pytest.raises(KeyBackendError, match="another key-encryption key") as caught:
        key_backend("software").private_key(first)
    assert first in str(caught.value)
    settings.CARDFORGE_KEK = None
    with pytest.raises(KeyBackendError, match="CARDFORGE_KEK"):
        key_backend("software").create_key(label=_label("c"), algorithm=KeyAlgorithm.EC_P256)


def test_unknown_backend_alias_is_a_configuration_error():
    with pytest.raises(ImproperlyConfigured, match="no key backend 'vault'"):
        key_backend("vault")


@pytest.mark.softhsm
def test_pkcs11_wrong_pin_or_token_is_a_clear_error(softhsm, settings):
    settings.PKI_KEY_BACKENDS = {
        **settings.PKI_KEY_BACKENDS,
        "wrong-token": {
            **softhsm.backend_config,
            "OPTIONS": {**softhsm.backend_config["OPTIONS"], "token_label": "no-such-token"},
        },
    }
    with pytest.raises(KeyBackendError, match="no single token labelled 'no-such-token'"):
        key_backend("wrong-token").has_key("x")


def _sign_in_child(queue, handle: str) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    try:
        backend = key_backend("pkcs11")  # the parent's instance: it notices the fork
        public = backend.public_key(handle)
        for index in range(10):
            data = f"child {index}".encode()
            signature = backend.sign(handle, data, algorithm=hashes.SHA256())
            public.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        queue.put("ok")
    except Exception as exc:  # noqa: BLE001 - reported to the parent
        queue.put(f"{type(exc).__name__}: {exc}")


@pytest.mark.softhsm
def test_pkcs11_works_in_forked_workers_starting_together(softhsm):
    """As Celery's prefork children do: the parent used the token, children start at once."""
    import multiprocessing

    backend = key_backend("pkcs11")
    handle = backend.create_key(label=_label("prefork"), algorithm=KeyAlgorithm.EC_P256)
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    children = [context.Process(target=_sign_in_child, args=(queue, handle)) for _ in range(4)]
    for child in children:
        child.start()
    results = [queue.get(timeout=60) for _ in children]
    for child in children:
        child.join(timeout=60)
    assert results == ["ok"] * 4
    assert backend.sign(
        handle, b"parent", algorithm=hashes.SHA256()
    )  # the parent's sessions live on
