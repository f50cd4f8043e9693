"""What encoder stations and the signer exchange (docs/signer.md, docs/pki.md "Stations"):
requests signed by a station's key, and secrets sealed so that only one station opens them.

**A signed request** is JSON text (it travels as a Celery message argument):

    {"v": 1, "body": b64(body), "certificate": b64(DER), "signature": b64(DER ECDSA)}

`body` is the canonical JSON (`canonical_json`) of the caller's payload plus `station` (the
common name of the certificate), `issued_at` (UTC, seconds, RFC 3339 "Z") and a random
`nonce`; the signature is ECDSA P-256 with SHA-256 over `REQUEST_SIGNATURE_CONTEXT || body`
(the prefix keeps a station's signature over a request from being anything else it signs, such
as its certificate request). The exact bytes signed travel, so nothing is re-encoded to verify.

**A sealed blob** is `version (1 byte) || ephemeral public point (65 bytes, X9.62 uncompressed)
|| nonce (12 bytes) || AES-256-GCM ciphertext and tag`: ECDH P-256 between a fresh ephemeral key
and the station's certificate key, HKDF-SHA256 (salt = the ephemeral point, info =
`DELIVERY_INFO || context`) to a 256-bit key, GCM with `context` as additional data. `context`
names what the secret is for (the signer binds job, attempt, step and station), so a blob
delivered for one purpose does not open for another.

Whatever fails to verify or open raises `EnvelopeError`, one class with a short `code` for the
caller to record and a message that names what failed, never a key or a secret.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import os
import secrets
from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple, TypeVar

from cryptography import x509
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from pki import profiles
from pki.models import Certificate
from pki.x509util import fingerprint_sha256

REQUEST_VERSION = 1
REQUEST_SIGNATURE_CONTEXT = b"CardForge station request v1\x00"
# A request is a few ids; its certificate about 700 bytes. Anything larger is refused unparsed.
MAX_REQUEST_BYTES = 16 * 1024
# Fields every request carries besides the caller's payload.
STATION_FIELD, ISSUED_AT_FIELD, NONCE_FIELD = "station", "issued_at", "nonce"
ISSUED_AT_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
# A request dated this far ahead of the verifier's clock is still accepted (hosts' clocks drift).
CLOCK_SKEW = dt.timedelta(seconds=30)

SEALED_VERSION = 1
DELIVERY_INFO = b"cardforge station delivery"
_POINT_BYTES = 65  # X9.62 uncompressed P-256 point: 0x04 || x || y
_NONCE_BYTES = 12
_TAG_BYTES = 16


class EnvelopeError(Exception):
    """A request that does not verify, or a sealed blob that does not open.

    `code` says what failed, for the caller to record: malformed, untrusted, not_station,
    expired, unknown_certificate, revoked, bad_signature, wrong_station, stale, replayed, sealed.
    The message never carries a key, a secret or the payload.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class VerifiedRequest(NamedTuple):
    """What `request_verify` vouches for: the station (its certificate's common name), the
    SHA-256 fingerprint of the certificate that signed (hex; the caller checks it is the
    station's current one) and the payload it signed (with `station`, without `issued_at` and
    `nonce`)."""

    station: str
    payload: dict[str, object]
    certificate_sha256: str = ""


def canonical_json(value: Mapping[str, object]) -> bytes:
    """One encoding per value: keys sorted, no whitespace, UTF-8, no NaN or infinity."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: object, field: str) -> bytes:
    if not isinstance(text, str):
        raise EnvelopeError("malformed", f"the request's {field} is not base64 text")
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise EnvelopeError("malformed", f"the request's {field} is not base64") from None


def _common_name(certificate: x509.Certificate) -> str | None:
    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if len(names) != 1 or not isinstance(names[0].value, str):
        return None
    return names[0].value


def _p256_public_key(certificate: x509.Certificate) -> ec.EllipticCurvePublicKey | None:
    public_key = certificate.public_key()
    if isinstance(public_key, ec.EllipticCurvePublicKey) and isinstance(
        public_key.curve, ec.SECP256R1
    ):
        return public_key
    return None


def _utc(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        msg = "give an aware datetime (UTC), not a naive one"
        raise ValueError(msg)
    return moment.astimezone(dt.UTC)


# --- signed requests -------------------------------------------------------------------------


def request_sign(
    payload: Mapping[str, object],
    *,
    key: ec.EllipticCurvePrivateKey,
    certificate: x509.Certificate,
    now: dt.datetime | None = None,
) -> str:
    """A request from the station `certificate` names, signed with its `key`: JSON text (see the
    module's docstring). `payload` holds JSON values; it may name `station` (it must then be the
    certificate's), never `issued_at` or `nonce`, which are added here. `now` (default: the
    clock) dates the request."""
    station = _common_name(certificate)
    if station is None:
        msg = "the certificate has no single common name to sign as"
        raise ValueError(msg)
    public_key = _p256_public_key(certificate)
    if public_key is None or not isinstance(key.curve, ec.SECP256R1):
        msg = "a station signs with an EC P-256 key"
        raise ValueError(msg)
    if key.public_key() != public_key:
        msg = "the key is not the one the certificate names"
        raise ValueError(msg)
    reserved = sorted({ISSUED_AT_FIELD, NONCE_FIELD} & set(payload))
    if reserved:
        msg = f"the payload may not set {', '.join(reserved)}: the request adds them"
        raise ValueError(msg)
    if payload.get(STATION_FIELD, station) != station:
        msg = f"the payload names station {payload[STATION_FIELD]!r}, the certificate {station!r}"
        raise ValueError(msg)
    issued_at = _utc(now or dt.datetime.now(dt.UTC))
    body = canonical_json(
        {
            **payload,
            STATION_FIELD: station,
            ISSUED_AT_FIELD: issued_at.strftime(ISSUED_AT_FORMAT),
            NONCE_FIELD: secrets.token_urlsafe(16),  # 128 random bits
        }
    )
    signature = key.sign(REQUEST_SIGNATURE_CONTEXT + body, ec.ECDSA(hashes.SHA256()))
    return canonical_json(
        {
            "v": REQUEST_VERSION,
            "body": _b64(body),
            "certificate": _b64(certificate.public_bytes(serialization.Encoding.DER)),
            "signature": _b64(signature),
        }
    ).decode("ascii")


def _parse_envelope(envelope: str | bytes) -> tuple[bytes, bytes, bytes]:
    """(body, certificate DER, signature) of a request's outer JSON."""
    data = envelope.encode("utf-8", errors="replace") if isinstance(envelope, str) else envelope
    if len(data) > MAX_REQUEST_BYTES:
        raise EnvelopeError("malformed", "the request is too large")
    try:
        outer = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise EnvelopeError("malformed", "the request is not JSON") from None
    if not isinstance(outer, dict) or set(outer) != {"v", "body", "certificate", "signature"}:
        raise EnvelopeError(
            "malformed", "the request must hold v, body, certificate and signature, and only them"
        )
    if outer["v"] != REQUEST_VERSION or isinstance(outer["v"], bool):
        raise EnvelopeError("malformed", f"unknown request version {outer['v']!r}")
    return (
        _unb64(outer["body"], "body"),
        _unb64(outer["certificate"], "certificate"),
        _unb64(outer["signature"], "signature"),
    )


def _trusted_issuer(
    certificate: x509.Certificate, trusted_issuers: Sequence[x509.Certificate], now: dt.datetime
) -> x509.Certificate:
    for issuer in trusted_issuers:
        if issuer.subject != certificate.issuer:
            continue
        try:
            certificate.verify_directly_issued_by(issuer)
        except (ValueError, TypeError, InvalidSignature):
            continue
        if not issuer.not_valid_before_utc <= now <= issuer.not_valid_after_utc:
            raise EnvelopeError("untrusted", "the station CA's certificate is not valid now")
        return issuer
    raise EnvelopeError("untrusted", "the certificate is not issued by a trusted station CA")


_Extension = TypeVar("_Extension", bound=x509.ExtensionType)


def _extension_value(
    certificate: x509.Certificate, extension: type[_Extension]
) -> _Extension | None:
    try:
        return certificate.extensions.get_extension_for_class(extension).value
    except x509.ExtensionNotFound:
        return None


def _check_station_profile(certificate: x509.Certificate) -> str:
    """The station's name, if the certificate is an encoder station's: clientAuth, the station
    policy, digitalSignature, an EC P-256 key and one common name."""
    eku = _extension_value(certificate, x509.ExtendedKeyUsage)
    policies = _extension_value(certificate, x509.CertificatePolicies)
    key_usage = _extension_value(certificate, x509.KeyUsage)
    station = _common_name(certificate)
    if (
        eku is None
        or ExtendedKeyUsageOID.CLIENT_AUTH not in eku
        or policies is None
        or profiles.station_policy_oid()
        not in {policy.policy_identifier.dotted_string for policy in policies}
        or key_usage is None
        or not key_usage.digital_signature
        or _p256_public_key(certificate) is None
        or station is None
    ):
        raise EnvelopeError("not_station", "the certificate is not an encoder station's")
    return station


def _check_recorded(certificate_der: bytes) -> None:
    """The certificate is one this platform issued to a station, and still valid: its row, found
    by fingerprint (the exact certificate), has the station profile and status valid."""
    row = (
        Certificate.objects.filter(fingerprint_sha256=fingerprint_sha256(certificate_der))
        .only("profile", "status")
        .first()
    )
    if row is None:
        raise EnvelopeError("unknown_certificate", "the certificate is not one this PKI issued")
    if row.profile != Certificate.Profile.ENCODER_STATION:
        raise EnvelopeError("not_station", "the certificate is not an encoder station's")
    if row.status != Certificate.Status.VALID:
        raise EnvelopeError("revoked", f"the station certificate is {row.get_status_display()}")


def _reject_duplicate_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise EnvelopeError("malformed", "the request's body repeats a key")
    return result


def _parse_body(body: bytes) -> dict[str, object]:
    try:
        parsed = json.loads(body.decode("utf-8"), object_pairs_hook=_reject_duplicate_keys)
    except (ValueError, UnicodeDecodeError):
        raise EnvelopeError("malformed", "the request's body is not JSON") from None
    if not isinstance(parsed, dict):
        raise EnvelopeError("malformed", "the request's body is not a JSON object")
    if canonical_json(parsed) != body:
        raise EnvelopeError("malformed", "the request's body is not canonical JSON")
    return parsed


def _issued_at(body: Mapping[str, object]) -> dt.datetime:
    value = body.get(ISSUED_AT_FIELD)
    try:
        if not isinstance(value, str):
            raise ValueError
        return dt.datetime.strptime(value, ISSUED_AT_FORMAT).replace(tzinfo=dt.UTC)
    except ValueError:
        raise EnvelopeError("malformed", "the request's issued_at is not a UTC time") from None


def request_verify(
    envelope: str | bytes,
    *,
    trusted_issuers: Sequence[x509.Certificate],
    now: dt.datetime,
    max_age: dt.timedelta,
    seen_nonce: Callable[[str], bool] | None = None,
) -> VerifiedRequest:
    """The station and payload of a request made by `request_sign`, once everything holds:

    - the certificate is issued by one of `trusted_issuers` (the station CAs' certificates,
      `pki.selectors.station_ca_certificates()`), valid at `now`, an encoder station's (clientAuth,
      the station policy, an EC P-256 key), recorded by this PKI as `encoder-station` and still
      valid (not revoked, not on hold: read from the database at each call);
    - the signature verifies with the certificate's key;
    - the body names the certificate's station, and was issued at most `max_age` before `now`
      (and not more than CLOCK_SKEW after it);
    - `seen_nonce(nonce)`, when given, returns False: it records the nonce and says whether it was
      seen before (keep nonces for `max_age`: older requests are refused anyway). Without it, a
      request can be replayed within `max_age`; the caller must then be idempotent (the signer's
      journal is).

    Anything else raises EnvelopeError naming what failed.
    """
    now = _utc(now)
    body, certificate_der, signature = _parse_envelope(envelope)
    try:
        certificate = x509.load_der_x509_certificate(certificate_der)
    except ValueError:
        raise EnvelopeError("malformed", "the request's certificate does not parse") from None
    _trusted_issuer(certificate, trusted_issuers, now)
    station = _check_station_profile(certificate)
    if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
        raise EnvelopeError("expired", "the station certificate is not valid now")
    _check_recorded(certificate_der)
    public_key = _p256_public_key(certificate)
    if public_key is None:  # checked with the profile; keeps the type checker informed
        raise EnvelopeError("not_station", "the certificate is not an encoder station's")
    try:
        public_key.verify(signature, REQUEST_SIGNATURE_CONTEXT + body, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise EnvelopeError("bad_signature", "the request's signature does not verify") from None

    fields = _parse_body(body)
    if fields.get(STATION_FIELD) != station:
        raise EnvelopeError(
            "wrong_station", f"the request is signed by station {station!r} for another station"
        )
    issued_at = _issued_at(fields)
    if now - issued_at > max_age:
        raise EnvelopeError("stale", "the request is older than the replay window")
    if issued_at - now > CLOCK_SKEW:
        raise EnvelopeError("stale", "the request is dated in the future")
    nonce = fields.get(NONCE_FIELD)
    if not isinstance(nonce, str) or not 16 <= len(nonce) <= 64:
        raise EnvelopeError("malformed", "the request's nonce is missing or malformed")
    if seen_nonce is not None and seen_nonce(nonce):
        raise EnvelopeError("replayed", "the request was received before")
    payload = {
        name: value for name, value in fields.items() if name not in {ISSUED_AT_FIELD, NONCE_FIELD}
    }
    return VerifiedRequest(
        station=station,
        payload=payload,
        certificate_sha256=fingerprint_sha256(certificate_der),
    )


# --- secrets sealed for a station ------------------------------------------------------------


def _delivery_key(shared_secret: bytes, ephemeral_point: bytes, context: bytes) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=ephemeral_point, info=DELIVERY_INFO + context
    ).derive(shared_secret)


def seal_for_station(plaintext: bytes, *, certificate: x509.Certificate, context: bytes) -> bytes:
    """`plaintext` encrypted so that only the holder of the key `certificate` names opens it,
    and only for `context` (see the module's docstring for the format)."""
    public_key = _p256_public_key(certificate)
    key_usage = _extension_value(certificate, x509.KeyUsage)
    if public_key is None or key_usage is None or not key_usage.key_agreement:
        msg = "seal only for a station certificate: an EC P-256 key allowed to agree keys"
        raise ValueError(msg)
    ephemeral = ec.generate_private_key(ec.SECP256R1())
    point = ephemeral.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    key = _delivery_key(ephemeral.exchange(ec.ECDH(), public_key), point, context)
    nonce = os.urandom(_NONCE_BYTES)
    return bytes([SEALED_VERSION]) + point + nonce + AESGCM(key).encrypt(nonce, plaintext, context)


def open_for_station(blob: bytes, *, key: ec.EllipticCurvePrivateKey, context: bytes) -> bytes:
    """The plaintext `seal_for_station` sealed for this station's `key` and `context`.
    EnvelopeError (code `sealed`) for a blob of another version, for another station or another
    context, or altered: GCM cannot tell these apart, and the message does not guess."""
    if not isinstance(key.curve, ec.SECP256R1):
        msg = "a station opens with its EC P-256 key"
        raise ValueError(msg)
    blob = bytes(blob)
    if len(blob) < 1 + _POINT_BYTES + _NONCE_BYTES + _TAG_BYTES:
        raise EnvelopeError("sealed", "the sealed data is too short")
    if blob[0] != SEALED_VERSION:
        raise EnvelopeError("sealed", f"unknown sealed data version {blob[0]}")
    point = blob[1 : 1 + _POINT_BYTES]
    nonce = blob[1 + _POINT_BYTES : 1 + _POINT_BYTES + _NONCE_BYTES]
    ciphertext = blob[1 + _POINT_BYTES + _NONCE_BYTES :]
    try:
        ephemeral = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        raise EnvelopeError("sealed", "the sealed data's ephemeral key is not a point") from None
    shared_secret = key.exchange(ec.ECDH(), ephemeral)
    try:
        return AESGCM(_delivery_key(shared_secret, point, context)).decrypt(
            nonce, ciphertext, context
        )
    except InvalidTag:
        raise EnvelopeError(
            "sealed",
            "the sealed data does not open: sealed for another station or another context, "
            "or altered",
        ) from None
