"""The OCSP responder (RFC 6960), signing with each issuing CA's delegated responder key.

Every request is answered from the certificate's current status in the database. Responses to
requests without a nonce are signed once and reused for a short while (as RFC 5019 §6 and
EJBCA's pre-signed responses do), keyed by that status: a revocation changes the key, so it shows
in the very next answer. Requests with a nonce get a freshly signed response echoing it.
Anything unparsable gets a `malformedRequest` response, never a server error.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TypeAlias

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from django.conf import settings
from django.db import DatabaseError, IntegrityError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from config.statements import values_where
from pki import der
from pki.key_backends import KeyAlgorithm, KeyBackendError, key_backend
from pki.key_backends.base import SignatureHash, SupportedPrivateKey
from pki.models import Certificate, OcspResponder
from pki.reasons import RevocationReason
from pki.x509util import serial_hex

logger = logging.getLogger(__name__)

# RFC 8954 §2.1: a nonce is 1 to 32 octets; longer or empty ones make the request malformed.
NONCE_MAX_LENGTH = 32
MAX_REQUEST_BYTES = 64 * 1024
# How long a signed response to a nonce-less request is reused for the same status.
RESPONSE_REUSE_SECONDS = 60
RESPONDER_RELOAD_SECONDS = 30
_RESPONSE_CACHE_SIZE = 20_000
# RFC 6960 §4.1.1 CertID: SHA-1 is what most clients (openssl included) still send; it only
# identifies the issuer here, it protects nothing.
_HASHES = (hashes.SHA1(), hashes.SHA256(), hashes.SHA384(), hashes.SHA512())  # noqa: S303

# A certificate's (status, revoked_at, reason) as the database holds it now.
CertificateStatus: TypeAlias = tuple[str, dt.datetime | None, int | None]
# What a reusable response is kept under: responder, CertID hash, serial and current status.
_ResponseKey: TypeAlias = tuple[int, str, int, CertificateStatus | None]


@dataclass(frozen=True)
class OcspAnswer:
    der: bytes
    outcome: str  # good, revoked, unknown, malformedRequest, unauthorized, internalError


@dataclass(frozen=True)
class _Responder:
    ca_id: int
    responder_id: int
    issuer_hashes: dict[str, tuple[bytes, bytes]]  # hash name -> (issuer name, key hashes)
    certificate: x509.Certificate
    signing_key: SupportedPrivateKey
    algorithm: SignatureHash
    loaded_at: float


_lock = threading.Lock()
_responders: dict[str, _Responder] = {}
_responses: OrderedDict[_ResponseKey, tuple[float, OcspAnswer]] = OrderedDict()


def ocsp_cache_clear() -> None:
    """Forget loaded responders and reusable responses (after a responder or CA changes)."""
    with _lock:
        _responders.clear()
        _responses.clear()


class _Malformed(Exception):
    pass


def _unsuccessful(status: ocsp.OCSPResponseStatus) -> OcspAnswer:
    response = ocsp.OCSPResponseBuilder.build_unsuccessful(status)
    return OcspAnswer(
        response.public_bytes(serialization.Encoding.DER),
        {
            ocsp.OCSPResponseStatus.MALFORMED_REQUEST: "malformedRequest",
            ocsp.OCSPResponseStatus.UNAUTHORIZED: "unauthorized",
            ocsp.OCSPResponseStatus.INTERNAL_ERROR: "internalError",
        }.get(status, status.name),
    )


def _issuer_key_bits(certificate: x509.Certificate) -> bytes:
    """RFC 6960 §4.1.1 issuerKeyHash input: the subjectPublicKey BIT STRING's bits, without tag,
    length and unused-bits octet."""
    spki = certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    bit_string = der.children(spki)[1]
    _, start, end = der.read_tlv(bit_string, 0)
    return bit_string[start + 1 : end]


def _digest(algorithm: hashes.HashAlgorithm, data: bytes) -> bytes:
    hasher = hashes.Hash(algorithm)
    hasher.update(data)
    return hasher.finalize()


def _load_responder(ca_slug: str) -> _Responder | None:
    row = (
        OcspResponder.objects.current()
        .select_related("ca", "certificate")
        .filter(ca__slug=ca_slug)
        .first()
    )
    if row is None:
        return None
    issuer = x509.load_der_x509_certificate(bytes(row.ca.certificate_der))
    name_der = issuer.subject.public_bytes()
    key_bits = _issuer_key_bits(issuer)
    return _Responder(
        ca_id=row.ca_id,
        responder_id=row.pk,
        issuer_hashes={
            algorithm.name: (_digest(algorithm, name_der), _digest(algorithm, key_bits))
            for algorithm in _HASHES
        },
        certificate=x509.load_der_x509_certificate(bytes(row.certificate.der)),
        signing_key=key_backend(row.key_backend).private_key(row.key_handle),
        algorithm=KeyAlgorithm(row.ca.key_algorithm).signature_hash,
        loaded_at=time.monotonic(),
    )


def _responder(ca_slug: str) -> _Responder | None:
    with _lock:
        found = _responders.get(ca_slug)
    if found is not None and time.monotonic() - found.loaded_at < RESPONDER_RELOAD_SECONDS:
        return found
    found = _load_responder(ca_slug)
    if found is not None:
        with _lock:
            _responders[ca_slug] = found
    return found


def _current_status(ca_id: int, serial: str) -> CertificateStatus | None:
    """(status, revoked_at, reason) of a certificate, straight from the database on every
    request. Plain SQL on the (ca, serial) unique index (config/statements.py): the ORM would
    cost more than the rest of the response on this hot path."""
    rows = values_where(
        Certificate,
        ("status", "revoked_at", "revocation_reason"),
        {"ca_id": ca_id, "serial": serial},
    )
    if not rows:
        return None
    status, revoked_at, reason = rows[0]
    if revoked_at is not None and not isinstance(revoked_at, dt.datetime):
        # SQLite hands back text; PostgreSQL an aware datetime.
        revoked_at = parse_datetime(revoked_at)
    if revoked_at is not None and timezone.is_naive(revoked_at):
        revoked_at = timezone.make_aware(revoked_at, dt.UTC)
    return status, revoked_at, reason


def _nonce(request: ocsp.OCSPRequest) -> bytes | None:
    try:
        extension = request.extensions.get_extension_for_class(x509.OCSPNonce)
    except x509.ExtensionNotFound:
        return None
    nonce = extension.value.nonce
    if not 1 <= len(nonce) <= NONCE_MAX_LENGTH:
        raise _Malformed
    return nonce


def ocsp_respond(*, ca_slug: str, request_der: bytes) -> OcspAnswer:
    """The DER OCSPResponse answering `request_der` for the CA `ca_slug`: always a response,
    `internalError` (RFC 6960 §2.3) when the database or the responder's key is unavailable."""
    try:
        return _respond(ca_slug, request_der)
    except (DatabaseError, KeyBackendError):
        logger.exception("OCSP responder for %s cannot answer", ca_slug)
        return _unsuccessful(ocsp.OCSPResponseStatus.INTERNAL_ERROR)


def _respond(ca_slug: str, request_der: bytes) -> OcspAnswer:
    if not request_der or len(request_der) > MAX_REQUEST_BYTES:
        return _unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
    try:
        request = ocsp.load_der_ocsp_request(request_der)
        nonce = _nonce(request)
        serial = request.serial_number
        name_hash = request.issuer_name_hash
        key_hash = request.issuer_key_hash
    except (ValueError, NotImplementedError, _Malformed):
        # `cryptography` raises NotImplementedError for a request list of other than one
        # certificate (none, or several: RFC 5019 §2.1.1 allows one).
        return _unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
    if serial < 0:
        # RFC 5280 §4.1.2.2: a serial number is a positive integer. A CertID with a negative one
        # names no certificate anyone holds (and cannot be echoed in a SingleResponse).
        return _unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
    try:
        algorithm = request.hash_algorithm
    except UnsupportedAlgorithm:
        # A CertID hashed with an algorithm we cannot compute cannot be matched to our CA.
        return _unsuccessful(ocsp.OCSPResponseStatus.UNAUTHORIZED)

    responder = _responder(ca_slug)
    if responder is None or responder.issuer_hashes.get(algorithm.name) != (name_hash, key_hash):
        # RFC 6960 §2.3: not a certificate of a CA this responder answers for.
        return _unsuccessful(ocsp.OCSPResponseStatus.UNAUTHORIZED)

    status = _current_status(responder.ca_id, serial_hex(serial))
    cache_key: _ResponseKey = (responder.responder_id, algorithm.name, serial, status)
    if nonce is None:
        with _lock:
            cached = _responses.get(cache_key)
        if cached is not None and time.monotonic() - cached[0] < RESPONSE_REUSE_SECONDS:
            return cached[1]

    answer = _sign_response(
        responder=responder,
        algorithm=algorithm,
        serial=serial,
        name_hash=name_hash,
        key_hash=key_hash,
        status=status,
        nonce=nonce,
    )
    if nonce is None:
        with _lock:
            _responses[cache_key] = (time.monotonic(), answer)
            _responses.move_to_end(cache_key)
            while len(_responses) > _RESPONSE_CACHE_SIZE:
                _responses.popitem(last=False)
    return answer


def _sign_response(
    *,
    responder: _Responder,
    algorithm: hashes.HashAlgorithm,
    serial: int,
    name_hash: bytes,
    key_hash: bytes,
    status: CertificateStatus | None,
    nonce: bytes | None,
) -> OcspAnswer:
    this_update = timezone.now().replace(microsecond=0)
    next_update = this_update + dt.timedelta(minutes=settings.PKI_OCSP_RESPONSE_VALIDITY_MINUTES)
    revocation_time: dt.datetime | None = None
    revocation_reason: x509.ReasonFlags | None = None
    if status is None:
        cert_status, outcome = ocsp.OCSPCertStatus.UNKNOWN, "unknown"
    elif status[0] == Certificate.Status.VALID:
        cert_status, outcome = ocsp.OCSPCertStatus.GOOD, "good"
    else:
        cert_status, outcome = ocsp.OCSPCertStatus.REVOKED, "revoked"
        revocation_time, reason_code = status[1], status[2]
        if revocation_time is None or reason_code is None:
            # The CHECK pki_certificate_revocation_complete makes this impossible; should a row
            # break it anyway, the client gets internalError (ocsp_respond), never a guess.
            msg = f"certificate {serial_hex(serial)} is revoked without a time or reason"
            raise IntegrityError(msg)
        reason = RevocationReason(reason_code)
        # As in CRLs (RFC 5280 §5.3.1), `unspecified` is conveyed by leaving the reason out.
        revocation_reason = None if reason == RevocationReason.UNSPECIFIED else reason.flag
    builder = (
        ocsp.OCSPResponseBuilder()
        .add_response_by_hash(
            issuer_name_hash=name_hash,
            issuer_key_hash=key_hash,
            serial_number=serial,
            algorithm=algorithm,
            cert_status=cert_status,
            this_update=this_update,
            next_update=next_update,
            revocation_time=revocation_time,
            revocation_reason=revocation_reason,
        )
        # RFC 6960 §4.2.2.3 byKey; §4.2.2.2: the delegated responder's certificate goes along.
        .responder_id(ocsp.OCSPResponderEncoding.HASH, responder.certificate)
        .certificates([responder.certificate])
    )
    if nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    response = builder.sign(responder.signing_key, responder.algorithm)
    return OcspAnswer(response.public_bytes(serialization.Encoding.DER), outcome)
