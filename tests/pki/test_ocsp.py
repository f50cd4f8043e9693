"""The OCSP responder through HTTP (RFC 6960 Appendix A): GET and POST, good / revoked /
unknown, nonces, malformed and unauthorized requests."""

from __future__ import annotations

import base64
import os
from urllib.parse import quote

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID

from pki.services.certificates import certificate_issue
from pki.services.revocation import certificate_revoke
from tests.pki.lint import lint_ocsp_response

BACKENDS = [
    pytest.param("software", id="software"),
    pytest.param("pkcs11", id="pkcs11", marks=pytest.mark.softhsm),
]


def _certificate(row) -> x509.Certificate:
    return x509.load_der_x509_certificate(bytes(row.der))


def _ca_certificate(ca) -> x509.Certificate:
    return x509.load_der_x509_certificate(bytes(ca.certificate_der))


def _request(certificate, issuer, *, nonce: bytes | None = None, algorithm=None) -> bytes:
    builder = ocsp.OCSPRequestBuilder().add_certificate(
        certificate, issuer, algorithm or hashes.SHA1()
    )
    if nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    return builder.build().public_bytes(serialization.Encoding.DER)


def _post(client, slug: str, body: bytes) -> ocsp.OCSPResponse:
    response = client.post(f"/pki/ocsp/{slug}/", data=body, content_type="application/ocsp-request")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/ocsp-response"
    return ocsp.load_der_ocsp_response(response.content)


def _get(client, slug: str, body: bytes) -> ocsp.OCSPResponse:
    encoded = quote(base64.b64encode(body).decode(), safe="")
    response = client.get(f"/pki/ocsp/{slug}/{encoded}")
    assert response.status_code == 200
    return ocsp.load_der_ocsp_response(response.content)


def _check_signed_by_delegated_responder(answer: ocsp.OCSPResponse, ca) -> None:
    (responder,) = answer.certificates
    issuer = _ca_certificate(ca)
    responder.verify_directly_issued_by(issuer)
    eku = responder.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.OCSP_SIGNING in eku
    responder.extensions.get_extension_for_class(x509.OCSPNoCheck)
    assert (
        answer.responder_key_hash
        == x509.SubjectKeyIdentifier.from_public_key(responder.public_key()).digest
    )
    public_key = responder.public_key()
    algorithm = answer.signature_hash_algorithm
    if hasattr(public_key, "curve"):
        from cryptography.hazmat.primitives.asymmetric import ec

        public_key.verify(answer.signature, answer.tbs_response_bytes, ec.ECDSA(algorithm))
    else:
        from cryptography.hazmat.primitives.asymmetric import padding

        public_key.verify(
            answer.signature, answer.tbs_response_bytes, padding.PKCS1v15(), algorithm
        )


@pytest.mark.parametrize("backend", BACKENDS)
def test_good_revoked_and_held_with_both_methods(backend, pki, professional, subject_keys, client):
    hierarchy = pki.for_backend(backend)
    ca = hierarchy.authentication
    slug = ca.slug
    issuer = _ca_certificate(ca)
    row = certificate_issue(
        public_key=subject_keys["ec"].public_key(),
        profile="hp-authentication",
        professional=professional,
        ca=ca,
    )
    certificate = _certificate(row)

    for send in (_post, _get):
        answer = send(client, slug, _request(certificate, issuer))
        assert answer.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
        assert answer.certificate_status == ocsp.OCSPCertStatus.GOOD
        assert answer.serial_number == certificate.serial_number
        assert answer.next_update_utc > answer.this_update_utc
        _check_signed_by_delegated_responder(answer, ca)
    assert (
        lint_ocsp_response(
            client.post(
                f"/pki/ocsp/{slug}/",
                data=_request(certificate, issuer),
                content_type="application/ocsp-request",
            ).content
        )
        == []
    )

    certificate_revoke(certificate=row, reason="certificateHold")
    answer = _get(client, slug, _request(certificate, issuer))
    assert answer.certificate_status == ocsp.OCSPCertStatus.REVOKED
    assert answer.revocation_reason == x509.ReasonFlags.certificate_hold

    certificate_revoke(certificate=row, reason="removeFromCRL")
    assert _get(client, slug, _request(certificate, issuer)).certificate_status == (
        ocsp.OCSPCertStatus.GOOD
    )

    certificate_revoke(certificate=row, reason="keyCompromise")
    row.refresh_from_db()
    for send in (_post, _get):
        answer = send(client, slug, _request(certificate, issuer, algorithm=hashes.SHA256()))
        assert answer.certificate_status == ocsp.OCSPCertStatus.REVOKED
        assert answer.revocation_reason == x509.ReasonFlags.key_compromise
        assert answer.revocation_time_utc == row.revoked_at
        _check_signed_by_delegated_responder(answer, ca)


def test_revocation_shows_immediately_despite_response_reuse(
    pki, professional, subject_keys, client
):
    ca = pki.software.qualified
    row = certificate_issue(
        public_key=subject_keys["ec"].public_key(),
        profile="hp-qualified-signature",
        professional=professional,
    )
    body = _request(_certificate(row), _ca_certificate(ca))
    first = client.post(f"/pki/ocsp/{ca.slug}/", data=body, content_type="application/ocsp-request")
    again = client.post(f"/pki/ocsp/{ca.slug}/", data=body, content_type="application/ocsp-request")
    assert first.content == again.content  # signed once, reused for the same status
    certificate_revoke(certificate=row, reason="privilegeWithdrawn")
    answer = _post(client, ca.slug, body)
    assert answer.certificate_status == ocsp.OCSPCertStatus.REVOKED
    assert answer.revocation_reason == x509.ReasonFlags.privilege_withdrawn


def test_unspecified_reason_is_left_out(pki, professional, subject_keys, client):
    ca = pki.software.authentication
    row = certificate_issue(
        public_key=subject_keys["ec"].public_key(),
        profile="hp-encryption",
        professional=professional,
    )
    certificate_revoke(certificate=row, reason="unspecified")
    answer = _post(client, ca.slug, _request(_certificate(row), _ca_certificate(ca)))
    assert answer.certificate_status == ocsp.OCSPCertStatus.REVOKED
    assert answer.revocation_reason is None


def test_nonce_is_echoed_and_response_is_fresh(pki, professional, subject_keys, client):
    ca = pki.software.authentication
    row = certificate_issue(
        public_key=subject_keys["rsa"].public_key(),
        profile="hp-authentication",
        professional=professional,
    )
    nonces = [os.urandom(16), os.urandom(32)]
    for nonce in nonces:
        answer = _post(
            client, ca.slug, _request(_certificate(row), _ca_certificate(ca), nonce=nonce)
        )
        echoed = answer.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
        assert echoed == nonce
        assert answer.certificate_status == ocsp.OCSPCertStatus.GOOD


def test_unknown_serial_is_unknown(pki, professional, subject_keys, client):
    ca = pki.software.authentication
    issuer = _ca_certificate(ca)
    row = certificate_issue(
        public_key=subject_keys["ec"].public_key(),
        profile="hp-authentication",
        professional=professional,
    )
    genuine = _certificate(row)
    # A certificate this CA never issued (same issuer name and key, another serial).
    builder = ocsp.OCSPRequestBuilder().add_certificate_by_hash(
        issuer_name_hash=_hash(issuer.subject.public_bytes()),
        issuer_key_hash=_key_hash(issuer),
        serial_number=genuine.serial_number + 1,
        algorithm=hashes.SHA1(),
    )
    body = builder.build().public_bytes(serialization.Encoding.DER)
    answer = _post(client, ca.slug, body)
    assert answer.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
    assert answer.certificate_status == ocsp.OCSPCertStatus.UNKNOWN


def _hash(data: bytes) -> bytes:
    digest = hashes.Hash(hashes.SHA1())
    digest.update(data)
    return digest.finalize()


def _key_hash(issuer: x509.Certificate) -> bytes:
    from pki.services.ocsp import _issuer_key_bits

    return _hash(_issuer_key_bits(issuer))


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"garbage",
        b"\x30\x03\x02\x01\x01",
        b"\x30" + b"\x82\xff\xff",
    ],
    ids=["empty", "garbage", "wrong-structure", "truncated"],
)
def test_malformed_requests_get_malformed_request(pki, client, body):
    response = client.post(
        "/pki/ocsp/authentication/", data=body, content_type="application/ocsp-request"
    )
    assert response.status_code == 200
    answer = ocsp.load_der_ocsp_response(response.content)
    assert answer.response_status == ocsp.OCSPResponseStatus.MALFORMED_REQUEST


@pytest.mark.parametrize("path", ["not-base64!!", "AAAA", "%ZZ", "MA=="])
def test_malformed_get_requests_get_malformed_request(pki, client, path):
    response = client.get(f"/pki/ocsp/authentication/{path}")
    assert response.status_code == 200
    answer = ocsp.load_der_ocsp_response(response.content)
    assert answer.response_status == ocsp.OCSPResponseStatus.MALFORMED_REQUEST


def test_oversized_nonce_is_malformed(pki, professional, subject_keys, client):
    # RFC 8954 §2.1: a nonce longer than 32 octets is refused with malformedRequest.
    ca = pki.software.authentication
    row = certificate_issue(
        public_key=subject_keys["ec"].public_key(),
        profile="hp-authentication",
        professional=professional,
    )
    body = _request(_certificate(row), _ca_certificate(ca), nonce=os.urandom(33))
    assert _post(client, ca.slug, body).response_status == (
        ocsp.OCSPResponseStatus.MALFORMED_REQUEST
    )


def test_requests_for_another_ca_are_unauthorized(pki, professional, subject_keys, client):
    row = certificate_issue(
        public_key=subject_keys["ec"].public_key(),
        profile="hp-authentication",
        professional=professional,
    )
    body = _request(_certificate(row), _ca_certificate(pki.software.authentication))
    assert _post(client, "qualified-signature", body).response_status == (
        ocsp.OCSPResponseStatus.UNAUTHORIZED
    )
    assert _post(client, "no-such-ca", body).response_status == (
        ocsp.OCSPResponseStatus.UNAUTHORIZED
    )


def test_ocsp_needs_no_login_and_no_csrf(pki, client):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    response = strict.post(
        "/pki/ocsp/authentication/", data=b"x", content_type="application/ocsp-request"
    )
    assert response.status_code == 200
    assert client.put("/pki/ocsp/authentication/").status_code == 405


def test_an_unusable_responder_key_answers_internal_error(
    pki, professional, subject_keys, client, settings
):
    from config.env import Secret
    from pki.key_backends import key_backend

    ca = pki.software.authentication
    row = certificate_issue(
        public_key=subject_keys["ec"].public_key(),
        profile="hp-authentication",
        professional=professional,
    )
    body = _request(_certificate(row), _ca_certificate(ca), nonce=os.urandom(8))
    # The responder's key is in the web's backend (docs/signer.md), under the web's key.
    key_backend(settings.PKI_RESPONDER_KEY_BACKEND).forget()
    settings.CARDFORGE_WEB_KEK = Secret(os.urandom(32))  # the wrong key-encryption key
    answer = _post(client, ca.slug, body)
    assert answer.response_status == ocsp.OCSPResponseStatus.INTERNAL_ERROR


def test_get_accepts_plus_slash_and_url_safe_encodings(pki, professional, subject_keys, client):
    ca = pki.software.authentication
    issuer = _ca_certificate(ca)
    row = certificate_issue(
        public_key=subject_keys["ec"].public_key(),
        profile="hp-authentication",
        professional=professional,
    )
    # Find a request whose base64 has both "+" and "/" (nonces vary it).
    for _ in range(500):
        body = _request(_certificate(row), issuer, nonce=os.urandom(16))
        text = base64.b64encode(body).decode()
        if "+" in text and "/" in text:
            break
    for path in (
        quote(text, safe=""),  # RFC 6960 A.1: URL-encoded
        text,  # raw, as many clients send it
        base64.urlsafe_b64encode(body).decode().rstrip("="),
        quote(text, safe="/").replace("%2B", " ").replace(" ", "%20"),  # "+" mangled to space
    ):
        response = client.get(f"/pki/ocsp/{ca.slug}/{path}")
        answer = ocsp.load_der_ocsp_response(response.content)
        assert answer.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL, path
        assert answer.certificate_status == ocsp.OCSPCertStatus.GOOD
