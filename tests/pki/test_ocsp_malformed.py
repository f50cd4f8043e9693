"""Attacks on the OCSP responder with requests that parse but carry values a CertID should never
hold (negative or huge serials), wrong content types and garbage: each is answered with an OCSP
response (RFC 6960 §2.3 malformedRequest, or a signed `unknown`), never a server error."""

from __future__ import annotations

import base64
from urllib.parse import quote

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509 import ocsp

from pki.der import tlv
from pki.services.ocsp import _issuer_key_bits

_SHA1_ALGORITHM = bytes.fromhex("300906052b0e03021a0500")  # AlgorithmIdentifier sha1, NULL


def _sha1(data: bytes) -> bytes:
    digest = hashes.Hash(hashes.SHA1())
    digest.update(data)
    return digest.finalize()


def _signed_integer(number: int) -> bytes:
    """X.690 §8.3: two's complement, minimal octets (negative serials included)."""
    length = max(1, (number + (number < 0)).bit_length() // 8 + 1)
    return tlv(0x02, number.to_bytes(length, "big", signed=True))


def _single_request(ca, serial: int) -> bytes:
    """A Request { reqCert CertID } (RFC 6960 §4.1.1) for `serial` under `ca`."""
    issuer = x509.load_der_x509_certificate(bytes(ca.certificate_der))
    cert_id = tlv(
        0x30,
        _SHA1_ALGORITHM
        + tlv(0x04, _sha1(issuer.subject.public_bytes()))
        + tlv(0x04, _sha1(_issuer_key_bits(issuer)))
        + _signed_integer(serial),
    )
    return tlv(0x30, cert_id)


def _ocsp_request(*requests: bytes) -> bytes:
    """OCSPRequest { TBSRequest { requestList SEQUENCE OF Request } }, without extensions."""
    return tlv(0x30, tlv(0x30, tlv(0x30, b"".join(requests))))


def _request_der(ca, serial: int) -> bytes:
    """An OCSPRequest for `serial` under `ca`, encoded by hand: `cryptography` refuses to build
    one with a negative serial, an attacker does not."""
    return _ocsp_request(_single_request(ca, serial))


def _answer(response) -> ocsp.OCSPResponse:
    assert response.status_code == 200, response.content[:200]
    assert response["Content-Type"] == "application/ocsp-response"
    return ocsp.load_der_ocsp_response(response.content)


SERIALS = [
    pytest.param(-1, id="minus-one"),
    pytest.param(-(2**64), id="large-negative"),
    pytest.param(0, id="zero"),
    pytest.param(2**159, id="160-bit"),  # RFC 5280 §4.1.2.2: at most 20 octets
    pytest.param(2**1000, id="huge"),
]


@pytest.mark.parametrize("serial", SERIALS)
def test_odd_serials_by_post_get_an_ocsp_answer(pki, client, serial):
    ca = pki.software.authentication
    body = _request_der(ca, serial)
    answer = _answer(
        client.post(f"/pki/ocsp/{ca.slug}/", data=body, content_type="application/ocsp-request")
    )
    if answer.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL:
        assert answer.certificate_status == ocsp.OCSPCertStatus.UNKNOWN
    else:
        assert answer.response_status == ocsp.OCSPResponseStatus.MALFORMED_REQUEST


@pytest.mark.parametrize("serial", SERIALS)
def test_odd_serials_by_get_get_an_ocsp_answer(pki, client, serial):
    ca = pki.software.authentication
    encoded = quote(base64.b64encode(_request_der(ca, serial)).decode(), safe="")
    answer = _answer(client.get(f"/pki/ocsp/{ca.slug}/{encoded}"))
    if answer.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL:
        assert answer.certificate_status == ocsp.OCSPCertStatus.UNKNOWN
    else:
        assert answer.response_status == ocsp.OCSPResponseStatus.MALFORMED_REQUEST


def test_negative_serial_is_malformed(pki, client):
    # RFC 5280 §4.1.2.2: serial numbers are positive; a CertID naming a negative one names no
    # certificate anybody could hold, so the request itself is malformed (RFC 6960 §2.3).
    ca = pki.software.authentication
    answer = _answer(
        client.post(
            f"/pki/ocsp/{ca.slug}/",
            data=_request_der(ca, -5),
            content_type="application/ocsp-request",
        )
    )
    assert answer.response_status == ocsp.OCSPResponseStatus.MALFORMED_REQUEST


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "text/plain", "multipart/form-data; boundary=x", ""],
)
def test_wrong_content_type_gets_an_ocsp_answer(pki, client, content_type):
    response = client.post(
        "/pki/ocsp/authentication/", data=b"\x30\x00{not ocsp", content_type=content_type
    )
    assert _answer(response).response_status == ocsp.OCSPResponseStatus.MALFORMED_REQUEST


def test_oversized_body_is_malformed(pki, client):
    response = client.post(
        "/pki/ocsp/authentication/", data=b"\x30" * 70_000, content_type="application/ocsp-request"
    )
    assert _answer(response).response_status == ocsp.OCSPResponseStatus.MALFORMED_REQUEST


@pytest.mark.parametrize("length", ["abc", "-1", "99999999999999999999999"])
def test_bad_content_length_on_ocsp_is_not_a_server_error(pki, client, length):
    response = client.post(
        "/pki/ocsp/authentication/",
        data=b"garbage",
        content_type="application/ocsp-request",
        CONTENT_LENGTH=length,
    )
    assert response.status_code in (200, 400, 413)  # 413: longer than any endpoint takes


@pytest.mark.parametrize("count", [0, 2])
def test_a_request_list_of_other_than_one_is_malformed(pki, client, count):
    # Found by tests/pki/test_ocsp_fuzz.py: `cryptography` raises NotImplementedError for these.
    # RFC 5019 §2.1.1: one request per OCSPRequest.
    ca = pki.software.authentication
    request = _ocsp_request(*[_single_request(ca, 5 + n) for n in range(count)])
    for response in (
        client.post(f"/pki/ocsp/{ca.slug}/", data=request, content_type="application/ocsp-request"),
        client.get(f"/pki/ocsp/{ca.slug}/{quote(base64.b64encode(request).decode(), safe='')}"),
    ):
        assert _answer(response).response_status == ocsp.OCSPResponseStatus.MALFORMED_REQUEST
