"""Requests signed by a station and secrets sealed for one (pki/envelopes.py), and the attacks
each must stop: a certificate not from the station CA, a professional's certificate, a revoked
or held station, an old or replayed request, a request for station B signed by station A, a
tampered payload; a sealed blob opened with another station's key, for another context, or
altered."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from pki import profiles
from pki.envelopes import (
    REQUEST_SIGNATURE_CONTEXT,
    EnvelopeError,
    canonical_json,
    open_for_station,
    request_sign,
    request_verify,
    seal_for_station,
)
from pki.models import Certificate
from pki.selectors import station_ca_certificates
from pki.services.certificates import certificate_issue
from pki.services.revocation import certificate_revoke
from pki.services.signing import ca_hash, ca_signing_key, issuer_context
from pki.services.stations import station_certificate_issue
from pki.station_keys import station_csr_build

MAX_AGE = dt.timedelta(minutes=5)
PAYLOAD = {"job": 42, "attempt": 1, "step": "issue_certificates"}


class Station:
    def __init__(self, name: str, key: ec.EllipticCurvePrivateKey, row: Certificate) -> None:
        self.name = name
        self.key = key
        self.row = row
        self.certificate = x509.load_der_x509_certificate(bytes(row.der))


@pytest.fixture(scope="module")
def station_keys() -> dict[str, ec.EllipticCurvePrivateKey]:
    return {name: ec.generate_private_key(ec.SECP256R1()) for name in ("a", "b")}


def _enrol(name: str, key: ec.EllipticCurvePrivateKey) -> Station:
    row = station_certificate_issue(station_name=name, csr_der_or_pem=station_csr_build(key, name))
    return Station(name, key, row)


@pytest.fixture
def station_a(pki, station_keys) -> Station:
    return _enrol("station-a", station_keys["a"])


@pytest.fixture
def station_b(pki, station_keys) -> Station:
    return _enrol("station-b", station_keys["b"])


def _verify(envelope, **overrides):
    arguments = {
        "trusted_issuers": station_ca_certificates(),
        "now": dt.datetime.now(dt.UTC),
        "max_age": MAX_AGE,
    }
    arguments.update(overrides)
    return request_verify(envelope, **arguments)


def _refused(code: str, envelope, **overrides) -> EnvelopeError:
    with pytest.raises(EnvelopeError) as raised:
        _verify(envelope, **overrides)
    assert raised.value.code == code, raised.value.message
    return raised.value


def _forge(body: dict, *, key, certificate: x509.Certificate) -> str:
    """A request assembled by hand, as an attacker (or another implementation) would."""
    body_bytes = canonical_json(body)
    signature = key.sign(REQUEST_SIGNATURE_CONTEXT + body_bytes, ec.ECDSA(hashes.SHA256()))
    return _envelope(body_bytes, certificate.public_bytes(serialization.Encoding.DER), signature)


def _envelope(body: bytes, certificate_der: bytes, signature: bytes) -> str:
    return json.dumps(
        {
            "v": 1,
            "body": base64.b64encode(body).decode(),
            "certificate": base64.b64encode(certificate_der).decode(),
            "signature": base64.b64encode(signature).decode(),
        }
    )


def _fields(envelope: str) -> tuple[dict, bytes, bytes]:
    outer = json.loads(envelope)
    return (
        json.loads(base64.b64decode(outer["body"])),
        base64.b64decode(outer["certificate"]),
        base64.b64decode(outer["signature"]),
    )


# --- signed requests: what passes ------------------------------------------------------------


def test_a_stations_request_verifies_and_names_it(station_a):
    envelope = request_sign(PAYLOAD, key=station_a.key, certificate=station_a.certificate)
    assert isinstance(envelope, str)
    verified = _verify(envelope)
    assert verified.station == "station-a"
    assert verified.payload == {**PAYLOAD, "station": "station-a"}
    body, certificate_der, _ = _fields(envelope)
    assert certificate_der == bytes(station_a.row.der)
    assert verified.certificate_sha256 == station_a.row.fingerprint_sha256
    assert body["issued_at"].endswith("Z")
    assert len(body["nonce"]) >= 16


def test_the_payload_may_name_its_own_station(station_a):
    envelope = request_sign(
        {**PAYLOAD, "station": "station-a"}, key=station_a.key, certificate=station_a.certificate
    )
    assert _verify(envelope).station == "station-a"


def test_each_request_has_its_own_nonce(station_a):
    first = request_sign(PAYLOAD, key=station_a.key, certificate=station_a.certificate)
    second = request_sign(PAYLOAD, key=station_a.key, certificate=station_a.certificate)
    assert _fields(first)[0]["nonce"] != _fields(second)[0]["nonce"]


def test_signing_refuses_what_would_not_verify(station_a, station_b):
    with pytest.raises(ValueError, match="not the one the certificate names"):
        request_sign(PAYLOAD, key=station_b.key, certificate=station_a.certificate)
    with pytest.raises(ValueError, match="names station 'station-b'"):
        request_sign(
            {**PAYLOAD, "station": "station-b"},
            key=station_a.key,
            certificate=station_a.certificate,
        )
    with pytest.raises(ValueError, match="may not set nonce"):
        request_sign(
            {**PAYLOAD, "nonce": "x"}, key=station_a.key, certificate=station_a.certificate
        )


# --- signed requests: attacks ----------------------------------------------------------------


def _rogue_ca(pki) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A CA with the authentication CA's very name, but not its key."""
    genuine = x509.load_der_x509_certificate(bytes(pki.software.authentication.certificate_der))
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(genuine.subject)
        .issuer_name(genuine.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, certificate


def _station_certificate_signed_by(ca_key, ca_subject: x509.Name, key, name: str):
    """A certificate with every mark of a station's (profile, policy, name), signed by `ca_key`."""
    now = dt.datetime.now(dt.UTC)
    issuer = profiles.IssuerContext(
        slug="authentication",
        name=ca_subject,
        public_key=ca_key.public_key(),
        not_after=now + dt.timedelta(days=365),
    )
    return profiles.build_certificate(
        profiles.PROFILES[profiles.ENCODER_STATION],
        subject=profiles.station_subject(name),
        public_key=key.public_key(),
        serial=x509.random_serial_number(),
        issuer=issuer,
        now=now,
    ).sign(ca_key, hashes.SHA256())


def test_a_certificate_not_from_the_station_ca_is_refused(pki, station_a):
    rogue_key, rogue_ca = _rogue_ca(pki)
    intruder = ec.generate_private_key(ec.SECP256R1())
    forged = _station_certificate_signed_by(rogue_key, rogue_ca.subject, intruder, "station-a")
    envelope = request_sign(PAYLOAD, key=intruder, certificate=forged)
    error = _refused("untrusted", envelope)
    assert "not issued by a trusted station CA" in error.message
    # Trusting the rogue CA is not enough either: this PKI never recorded the certificate.
    _refused("unknown_certificate", envelope, trusted_issuers=[rogue_ca])


def test_a_certificate_signed_by_the_ca_key_but_never_recorded_is_refused(pki, station_keys):
    ca = pki.software.authentication
    certificate = profiles.build_certificate(
        profiles.PROFILES[profiles.ENCODER_STATION],
        subject=profiles.station_subject("station-a"),
        public_key=station_keys["a"].public_key(),
        serial=x509.random_serial_number(),
        issuer=issuer_context(ca),
        now=dt.datetime.now(dt.UTC),
    ).sign(ca_signing_key(ca), ca_hash(ca))
    envelope = request_sign(PAYLOAD, key=station_keys["a"], certificate=certificate)
    _refused("unknown_certificate", envelope)


def test_only_the_given_issuers_are_trusted(station_a, pki):
    envelope = request_sign(PAYLOAD, key=station_a.key, certificate=station_a.certificate)
    qualified = x509.load_der_x509_certificate(bytes(pki.software.qualified.certificate_der))
    _refused("untrusted", envelope, trusted_issuers=[qualified])
    _refused("untrusted", envelope, trusted_issuers=[])


def test_a_professionals_certificate_from_the_same_ca_is_not_a_station(pki, professional):
    key = ec.generate_private_key(ec.SECP256R1())
    row = certificate_issue(
        public_key=key.public_key(), profile="hp-authentication", professional=professional
    )
    certificate = x509.load_der_x509_certificate(bytes(row.der))
    # clientAuth, EC P-256, one common name, the same CA: only the station policy is missing.
    envelope = request_sign(PAYLOAD, key=key, certificate=certificate)
    _refused("not_station", envelope)


@pytest.mark.parametrize(
    ("reason", "status"), [("keyCompromise", "Revoked"), ("certificateHold", "On hold")]
)
def test_a_revoked_or_held_station_is_refused(station_a, reason, status):
    envelope = request_sign(PAYLOAD, key=station_a.key, certificate=station_a.certificate)
    certificate_revoke(certificate=station_a.row, reason=reason)
    error = _refused("revoked", envelope)
    assert error.message == f"the station certificate is {status}"


def test_an_old_request_is_refused(station_a):
    now = dt.datetime.now(dt.UTC)
    old = request_sign(
        PAYLOAD,
        key=station_a.key,
        certificate=station_a.certificate,
        now=now - MAX_AGE - dt.timedelta(seconds=2),
    )
    _refused("stale", old, now=now)
    future = request_sign(
        PAYLOAD,
        key=station_a.key,
        certificate=station_a.certificate,
        now=now + dt.timedelta(minutes=2),
    )
    error = _refused("stale", future, now=now)
    assert "future" in error.message


def test_a_replayed_request_is_refused(station_a):
    seen: set[str] = set()

    def seen_nonce(nonce: str) -> bool:
        if nonce in seen:
            return True
        seen.add(nonce)
        return False

    envelope = request_sign(PAYLOAD, key=station_a.key, certificate=station_a.certificate)
    assert _verify(envelope, seen_nonce=seen_nonce).station == "station-a"
    _refused("replayed", envelope, seen_nonce=seen_nonce)
    # A new request of the same content is not a replay.
    again = request_sign(PAYLOAD, key=station_a.key, certificate=station_a.certificate)
    assert _verify(again, seen_nonce=seen_nonce).station == "station-a"


def test_a_certificate_outside_its_validity_is_refused(station_a):
    later = station_a.certificate.not_valid_after_utc + dt.timedelta(days=1)
    envelope = request_sign(
        PAYLOAD, key=station_a.key, certificate=station_a.certificate, now=later
    )
    _refused("expired", envelope, now=later)


def test_a_request_for_station_b_signed_by_station_a_is_refused(station_a, station_b):
    body, _, _ = _fields(
        request_sign(PAYLOAD, key=station_a.key, certificate=station_a.certificate)
    )
    body["station"] = "station-b"
    error = _refused(
        "wrong_station", _forge(body, key=station_a.key, certificate=station_a.certificate)
    )
    assert "signed by station 'station-a'" in error.message
    # Nor does station B's certificate help without station B's key.
    _refused("bad_signature", _forge(body, key=station_a.key, certificate=station_b.certificate))


def test_a_tampered_payload_is_refused(station_a):
    envelope = request_sign(PAYLOAD, key=station_a.key, certificate=station_a.certificate)
    body, certificate_der, signature = _fields(envelope)
    body["job"] = 43
    _refused("bad_signature", _envelope(canonical_json(body), certificate_der, signature))
    # The same body re-encoded (not canonical) is refused even with a valid signature.
    spaced = json.dumps(body, indent=1).encode()
    signed = station_a.key.sign(REQUEST_SIGNATURE_CONTEXT + spaced, ec.ECDSA(hashes.SHA256()))
    _refused("malformed", _envelope(spaced, certificate_der, signed))


def test_a_signature_without_the_request_context_is_refused(station_a):
    envelope = request_sign(PAYLOAD, key=station_a.key, certificate=station_a.certificate)
    body, certificate_der, _ = _fields(envelope)
    body_bytes = canonical_json(body)
    bare = station_a.key.sign(body_bytes, ec.ECDSA(hashes.SHA256()))
    _refused("bad_signature", _envelope(body_bytes, certificate_der, bare))


@pytest.mark.parametrize(
    "envelope",
    [
        "",
        "not json",
        "[]",
        '{"v": 1}',
        '{"v": 2, "body": "", "certificate": "", "signature": ""}',
        '{"v": true, "body": "", "certificate": "", "signature": ""}',
        '{"v": 1, "body": "!!", "certificate": "", "signature": ""}',
        '{"v": 1, "body": "", "certificate": "AAAA", "signature": ""}',
        "x" * 20000,
    ],
)
def test_malformed_requests_are_refused(pki, envelope):
    _refused("malformed", envelope)


def test_a_body_with_a_repeated_key_is_refused(station_a):
    envelope = request_sign(PAYLOAD, key=station_a.key, certificate=station_a.certificate)
    body, certificate_der, _ = _fields(envelope)
    text = canonical_json(body)
    repeated = text[:-1] + b',"station":"station-b"}'
    signature = station_a.key.sign(REQUEST_SIGNATURE_CONTEXT + repeated, ec.ECDSA(hashes.SHA256()))
    _refused("malformed", _envelope(repeated, certificate_der, signature))


# --- sealed for a station --------------------------------------------------------------------

CONTEXT = canonical_json({"job": 42, "attempt": 1, "step": "set_pin", "station": "station-a"})


def test_sealed_for_a_station_opens_with_its_key_and_context(station_a):
    blob = seal_for_station(
        b"management key bytes", certificate=station_a.certificate, context=CONTEXT
    )
    assert blob[0] == 1
    assert b"management key bytes" not in blob
    assert open_for_station(blob, key=station_a.key, context=CONTEXT) == b"management key bytes"
    again = seal_for_station(
        b"management key bytes", certificate=station_a.certificate, context=CONTEXT
    )
    assert again != blob  # a fresh ephemeral key each time


def test_another_stations_key_does_not_open_it(station_a, station_b):
    blob = seal_for_station(b"secret", certificate=station_a.certificate, context=CONTEXT)
    with pytest.raises(EnvelopeError) as raised:
        open_for_station(blob, key=station_b.key, context=CONTEXT)
    assert raised.value.code == "sealed"
    assert "another station or another context" in raised.value.message


def test_another_context_does_not_open_it(station_a):
    blob = seal_for_station(b"secret", certificate=station_a.certificate, context=CONTEXT)
    other = canonical_json({"job": 42, "attempt": 2, "step": "set_pin", "station": "station-a"})
    with pytest.raises(EnvelopeError, match="does not open"):
        open_for_station(blob, key=station_a.key, context=other)


@pytest.mark.parametrize("position", [0, 1, 40, 70, 80, -1])
def test_an_altered_blob_does_not_open(station_a, position):
    blob = bytearray(
        seal_for_station(b"secret", certificate=station_a.certificate, context=CONTEXT)
    )
    blob[position] ^= 0x01
    with pytest.raises(EnvelopeError) as raised:
        open_for_station(bytes(blob), key=station_a.key, context=CONTEXT)
    assert raised.value.code == "sealed"
    assert "secret" not in raised.value.message


def test_a_truncated_blob_does_not_open(station_a):
    blob = seal_for_station(b"secret", certificate=station_a.certificate, context=CONTEXT)
    with pytest.raises(EnvelopeError, match="too short"):
        open_for_station(blob[:60], key=station_a.key, context=CONTEXT)


def test_seals_only_for_a_key_agreement_certificate(pki, professional):
    key = ec.generate_private_key(ec.SECP256R1())
    row = certificate_issue(
        public_key=key.public_key(), profile="hp-authentication", professional=professional
    )
    with pytest.raises(ValueError, match="agree keys"):
        seal_for_station(
            b"secret",
            certificate=x509.load_der_x509_certificate(bytes(row.der)),
            context=CONTEXT,
        )
