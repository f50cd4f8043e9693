"""A bounded fuzz of the OCSP responder (RFC 6960) through HTTP, in-process: random bytes, and
hand-encoded requests whose every part varies (serial of any sign and size, hash algorithm,
issuer hashes, nonce length, several requests, trailing bytes), by POST and GET. Every answer is
a 200 carrying a parsable OCSPResponse, never a server error."""

from __future__ import annotations

import base64
from urllib.parse import quote

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509 import ocsp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pki.der import tlv
from pki.services.ocsp import _issuer_key_bits

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

_ALGORITHMS = {
    "sha1": (bytes.fromhex("2b0e03021a"), hashes.SHA1()),
    "sha256": (bytes.fromhex("608648016503040201"), hashes.SHA256()),
    "md5": (bytes.fromhex("2a864886f70d0205"), None),
    "garbage": (b"\x2a\x03", None),
}
_NONCE_OID = bytes.fromhex("2b06010505073001 02".replace(" ", ""))


def _integer(number: int) -> bytes:
    length = max(1, (number + (number < 0)).bit_length() // 8 + 1)
    return tlv(0x02, number.to_bytes(length, "big", signed=True))


def _digest(algorithm, data: bytes) -> bytes:
    hasher = hashes.Hash(algorithm)
    hasher.update(data)
    return hasher.finalize()


@st.composite
def ocsp_requests(draw, issuer: x509.Certificate) -> bytes:
    name = draw(st.sampled_from(list(_ALGORITHMS)))
    oid, algorithm = _ALGORITHMS[name]
    genuine = algorithm is not None and draw(st.booleans())
    name_hash = (
        _digest(algorithm, issuer.subject.public_bytes())
        if genuine
        else draw(st.binary(max_size=70))
    )
    key_hash = (
        _digest(algorithm, _issuer_key_bits(issuer)) if genuine else draw(st.binary(max_size=70))
    )
    serial = draw(
        st.integers(min_value=-(2**200), max_value=2**200)
        | st.sampled_from([0, -1, 1, 2**159, 2**160, 2**1000])
    )
    parameters = draw(st.sampled_from([b"\x05\x00", b"", b"\x04\x00"]))
    cert_id = tlv(
        0x30,
        tlv(0x30, tlv(0x06, oid) + parameters)
        + tlv(0x04, name_hash)
        + tlv(0x04, key_hash)
        + _integer(serial),
    )
    requests = tlv(0x30, cert_id) * draw(st.integers(min_value=0, max_value=3))
    tbs = tlv(0x30, requests)
    if draw(st.booleans()):
        nonce = draw(st.binary(max_size=80))
        extension = tlv(0x30, tlv(0x06, _NONCE_OID) + tlv(0x04, tlv(0x04, nonce)))
        tbs += tlv(0xA2, tlv(0x30, extension))
    body = tlv(0x30, tlv(0x30, tbs))
    if draw(st.booleans()):
        # Flip a few bytes of an otherwise well-formed request.
        flips = draw(
            st.lists(st.tuples(st.integers(0, len(body) - 1), st.integers(0, 255)), max_size=3)
        )
        mutable = bytearray(body)
        for index, value in flips:
            mutable[index] = value
        body = bytes(mutable)
    return body + draw(st.sampled_from([b"", b"\x00", b"\x30\x00"]))


FUZZ = settings(
    max_examples=500,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _check(response) -> None:
    assert response.status_code == 200, response.content[:200]
    assert response["Content-Type"] == "application/ocsp-response"
    answer = ocsp.load_der_ocsp_response(response.content)
    if answer.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL:
        assert answer.certificate_status in (
            ocsp.OCSPCertStatus.GOOD,
            ocsp.OCSPCertStatus.REVOKED,
            ocsp.OCSPCertStatus.UNKNOWN,
        )


@FUZZ
@given(data=st.data(), method=st.sampled_from(["post", "get"]))
def test_structured_requests_always_get_an_ocsp_answer(pki, client, data, method):
    ca = pki.software.authentication
    issuer = x509.load_der_x509_certificate(bytes(ca.certificate_der))
    body = data.draw(ocsp_requests(issuer))
    if method == "post":
        response = client.post(
            f"/pki/ocsp/{ca.slug}/", data=body, content_type="application/ocsp-request"
        )
    else:
        response = client.get(f"/pki/ocsp/{ca.slug}/{quote(base64.b64encode(body), safe='')}")
    _check(response)


@settings(FUZZ, max_examples=300)
@given(
    body=st.binary(max_size=400),
    path=st.text(max_size=60).filter(lambda text: "\x00" not in text),
    content_type=st.sampled_from(["application/ocsp-request", "application/json", "", "x/y"]),
)
def test_random_bytes_always_get_an_ocsp_answer(pki, client, body, path, content_type):
    _check(client.post("/pki/ocsp/authentication/", data=body, content_type=content_type))
    response = client.get("/pki/ocsp/authentication/" + quote(path, safe=""))
    # A tail the route does not take (empty: the POST URL; a newline: `path` does not match it)
    # is a 404 or 405; anything else is a request and gets an OCSP answer.
    if response.status_code not in (404, 405):
        _check(response)
