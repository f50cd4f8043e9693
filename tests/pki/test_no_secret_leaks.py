"""No CA private key, master key or KEK is ever stored or logged in clear (THREATS.md).

The software backend's keys are decrypted here, the way only the backend does it, and every
encoding of them (DER, PEM, hex, base64, the raw private numbers) is searched for in every row
of every table, in the audit payloads, in everything logged at DEBUG during bootstrap, issuance,
revocation, CRL generation and OCSP, and in API answers.
"""

from __future__ import annotations

import base64
import json
import logging

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.apps import apps
from django.conf import settings
from django.views.debug import SafeExceptionReporterFilter
from rest_framework.test import APIClient

from accounts.roles import Role
from audit.models import AuditEvent
from pki.key_backends import key_backend
from pki.models import SoftwareKey
from pki.services.cas import pki_bootstrap
from pki.services.certificates import certificate_issue
from pki.services.crl import crls_generate
from pki.services.revocation import certificate_revoke


def _encodings(secret: bytes) -> tuple[set[bytes], set[str]]:
    """Byte strings and texts any of which would give `secret` away."""
    texts = {
        secret.hex(),
        secret.hex().upper(),
        base64.b64encode(secret).decode(),
        base64.urlsafe_b64encode(secret).decode().rstrip("="),
    }
    return {secret}, texts


def _private_key_material(key) -> tuple[set[bytes], set[str]]:
    blobs, texts = set(), set()
    for encoding, private_format in (
        (serialization.Encoding.DER, serialization.PrivateFormat.PKCS8),
        (serialization.Encoding.DER, serialization.PrivateFormat.TraditionalOpenSSL),
    ):
        der = key.private_bytes(encoding, private_format, serialization.NoEncryption())
        more_blobs, more_texts = _encodings(der)
        blobs |= more_blobs
        texts |= more_texts
    for private_format in (
        serialization.PrivateFormat.PKCS8,
        serialization.PrivateFormat.TraditionalOpenSSL,
    ):
        pem = key.private_bytes(
            serialization.Encoding.PEM, private_format, serialization.NoEncryption()
        ).decode()
        # The base64 body lines of the PEM, any one of which is a fragment of the key.
        texts |= {line for line in pem.splitlines() if line and not line.startswith("-----")}
    if isinstance(key, ec.EllipticCurvePrivateKey):
        numbers = [key.private_numbers().private_value]
    else:
        private = key.private_numbers()
        numbers = [private.d, private.p, private.q]
    for number in numbers:
        raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
        more_blobs, more_texts = _encodings(raw)
        blobs |= more_blobs
        texts |= more_texts | {str(number)}
    return blobs, texts


def _everything_stored() -> tuple[list[bytes], list[str]]:
    blobs, texts = [], []
    for model in apps.get_models():
        for row in model._default_manager.all().values():
            for value in row.values():
                if isinstance(value, bytes | memoryview):
                    blobs.append(bytes(value))
                elif isinstance(value, dict | list):
                    texts.append(json.dumps(value))
                elif value is not None:
                    texts.append(str(value))
    return blobs, texts


@pytest.fixture
def activity(
    db, caplog, professional, subject_keys, user_with_role, django_capture_on_commit_callbacks
):
    """Bootstrap, issue, revoke, regenerate CRLs and answer OCSP with everything logged."""
    caplog.set_level(logging.DEBUG)
    with django_capture_on_commit_callbacks(execute=True):
        pki_bootstrap(backend="software")
        issued = [
            certificate_issue(
                public_key=subject_keys[key].public_key(),
                profile=profile,
                professional=professional,
            )
            for key in ("ec", "rsa")
            for profile in ("hp-authentication", "hp-qualified-signature")
        ]
        certificate_revoke(certificate=issued[0], reason="keyCompromise")
        crls_generate()
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509 import load_der_x509_certificate, ocsp
    from django.test import Client

    row = issued[1]
    request = (
        ocsp.OCSPRequestBuilder()
        .add_certificate(
            load_der_x509_certificate(bytes(row.der)),
            load_der_x509_certificate(bytes(row.ca.certificate_der)),
            hashes.SHA256(),
        )
        .build()
        .public_bytes(serialization.Encoding.DER)
    )
    answer = Client().post(
        f"/pki/ocsp/{row.ca.slug}/", data=request, content_type="application/ocsp-request"
    )
    # The OCSP signing path really ran (an error page would have logged nothing to search).
    assert answer.status_code == 200, answer.content[:200]
    assert ocsp.load_der_ocsp_response(answer.content).response_status == (
        ocsp.OCSPResponseStatus.SUCCESSFUL
    )
    return issued


def test_ca_private_keys_appear_nowhere_in_clear(activity, caplog, capsys):
    secret_blobs, secret_texts = set(), set()
    # The signer's backend (CA keys, the master key) and the web's (OCSP responders' keys).
    rows = list(SoftwareKey.objects.all())
    assert {row.kind for row in rows} == {"private", "secret"}
    assert {row.backend for row in rows} == {"software", "web"}
    for row in rows:
        backend = key_backend(row.backend)
        if row.kind == "private":
            blobs, texts = _private_key_material(backend._load_private(row.label))
        else:
            blobs, texts = _encodings(backend._decrypt(row))
        secret_blobs |= blobs
        secret_texts |= texts
    for kek in (settings.CARDFORGE_KEK, settings.CARDFORGE_WEB_KEK):
        blobs, texts = _encodings(kek.reveal())
        secret_blobs |= blobs
        secret_texts |= texts
    assert len(secret_blobs) > 10

    stored_blobs, stored_texts = _everything_stored()
    for stored in stored_blobs:
        for secret in secret_blobs:
            assert secret not in stored
    for stored in stored_texts:
        for secret in secret_texts:
            assert secret not in stored

    payloads = json.dumps(list(AuditEvent.objects.values_list("payload", flat=True)))
    records = caplog.get_records("setup") + caplog.get_records("call")
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s %(exc_info)s")
    logged = "\n".join(formatter.format(record) for record in records)
    logged += "".join(capsys.readouterr())
    assert "issued hp-qualified-signature certificate" in logged  # logging was captured
    for text in (payloads, logged):
        for secret in secret_texts:
            assert secret not in text

    # The stored form is ciphertext that decrypts only with the KEK, bound to its label.
    for row in rows:
        assert bytes(row.encrypted)[12:] not in b"".join(secret_blobs)


def test_api_answers_carry_no_key_material(activity, user_with_role):
    client = APIClient()
    client.force_authenticate(user_with_role(Role.ADMINISTRATOR))
    certificate = activity[0]
    responses = {
        "/api/v1/cas/": "authentication",
        "/api/v1/cas/authentication/": "authentication",
        f"/api/v1/certificates/{certificate.pk}/": certificate.serial,
    }
    answers = []
    for url, shown in responses.items():
        response = client.get(url)
        # An error page (403, 404, 500) carries no key either: only a real answer proves it.
        assert response.status_code == 200, (url, response.status_code)
        assert shown.encode() in response.content, url  # the answer is the object asked for
        answers.append(response.content)
    for row in SoftwareKey.objects.filter(kind="private"):
        _, texts = _private_key_material(key_backend(row.backend)._load_private(row.label))
        for answer in answers:
            for text in texts:
                assert text.encode() not in answer
        for answer in answers:
            assert row.label.encode() not in answer  # not even where the key lives


def test_settings_and_errors_never_show_the_kek():
    kek = settings.CARDFORGE_KEK.reveal()
    shown = repr(SafeExceptionReporterFilter().get_safe_settings()["CARDFORGE_KEK"])
    assert "********" in shown
    for text in (repr(settings.CARDFORGE_KEK), str(settings.CARDFORGE_KEK), shown):
        assert base64.b64encode(kek).decode() not in text
        assert kek.hex() not in text
    with pytest.raises(TypeError):
        __import__("pickle").dumps(settings.CARDFORGE_KEK)


def test_backend_key_objects_refuse_export(pki):
    ca = pki.software.authentication
    key = key_backend(ca.key_backend).private_key(ca.key_handle)
    for attempt in (
        lambda: key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        key.private_numbers,
        lambda: __import__("pickle").dumps(key),
    ):
        with pytest.raises(TypeError, match="stays in key backend"):
            attempt()
    assert ca.key_handle in repr(key)
    assert isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey)
