"""Encoder stations' certificates: issued for the station's own CSR by the authentication CA,
clean under pkilint, verified by `openssl verify -purpose sslclient`, audited; a request that is
not the station's own is refused and changes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from audit.events import EventType
from audit.models import AuditEvent
from config.errors import ValidationFailed
from pki.models import Certificate
from pki.profiles import station_policy_oid
from pki.services.stations import station_certificate_issue
from pki.station_keys import station_csr_build
from tests.pki.chain import openssl_verify
from tests.pki.lint import lint_pkix_cert


@pytest.fixture(scope="module")
def station_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _csr(key, name: x509.Name) -> bytes:
    return (
        x509.CertificateSigningRequestBuilder()
        .subject_name(name)
        .sign(key, hashes.SHA256())
        .public_bytes(serialization.Encoding.PEM)
    )


def test_station_certificate_profile(pki, station_key, user_with_role, settings, tmp_path):
    admin = user_with_role(None, "station-admin")
    row = station_certificate_issue(
        station_name="bureau-lyon-1",
        csr_der_or_pem=station_csr_build(station_key, "bureau-lyon-1"),
        by=admin,
    )
    assert row.profile == Certificate.Profile.ENCODER_STATION
    assert row.ca == pki.software.authentication
    assert row.professional is None
    assert row.card_slot == ""
    assert row.status == Certificate.Status.VALID
    certificate = x509.load_der_x509_certificate(bytes(row.der))
    assert certificate.subject == x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, settings.PKI_ORGANIZATION),
            x509.NameAttribute(NameOID.COMMON_NAME, "bureau-lyon-1"),
        ]
    )
    assert certificate.public_key() == station_key.public_key()
    extensions = certificate.extensions
    key_usage = extensions.get_extension_for_class(x509.KeyUsage)
    assert key_usage.critical
    assert key_usage.value.digital_signature
    assert key_usage.value.key_agreement
    assert not key_usage.value.content_commitment
    assert not key_usage.value.key_encipherment
    eku = extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    policies = extensions.get_extension_for_class(x509.CertificatePolicies).value
    assert [p.policy_identifier for p in policies] == [ObjectIdentifier(station_policy_oid())]
    assert station_policy_oid() == settings.PKI_POLICY_OID + ".1"
    lifetime = certificate.not_valid_after_utc - certificate.not_valid_before_utc
    assert (
        lifetime
        == dt.timedelta(days=settings.PKI_STATION_CERTIFICATE_VALIDITY_DAYS)
        == (dt.timedelta(days=730))
    )

    assert lint_pkix_cert(bytes(row.der)) == []
    result = openssl_verify(tmp_path, row.ca, bytes(row.der), purpose="sslclient")
    assert result.returncode == 0, result.stderr

    event = AuditEvent.objects.for_object(row).get()
    assert event.event_type == EventType.STATION_CERTIFICATE_ISSUED == 313
    assert event.actor_user_id == admin.pk
    assert event.payload["station"] == "bureau-lyon-1"
    assert event.payload["serial"] == row.serial


def test_validity_is_a_setting(pki, station_key, settings):
    settings.PKI_STATION_CERTIFICATE_VALIDITY_DAYS = 90
    row = station_certificate_issue(
        station_name="s1", csr_der_or_pem=station_csr_build(station_key, "s1"), by=None
    )
    assert row.not_after - row.not_before == dt.timedelta(days=90)


def test_a_der_request_is_accepted(pki, station_key):
    pem = station_csr_build(station_key, "s2")
    der = x509.load_pem_x509_csr(pem).public_bytes(serialization.Encoding.DER)
    assert station_certificate_issue(station_name="s2", csr_der_or_pem=der).profile == (
        "encoder-station"
    )


def _tampered_signature(key) -> bytes:
    der = bytearray(
        x509.load_pem_x509_csr(station_csr_build(key, "s3")).public_bytes(
            serialization.Encoding.DER
        )
    )
    der[-5] ^= 0x01  # inside the ECDSA signature's integers
    return bytes(der)


@pytest.mark.parametrize(
    ("make_csr", "station_name", "message"),
    [
        pytest.param(_tampered_signature, "s3", "signature does not verify", id="bad-sig"),
        pytest.param(
            lambda key: _csr(
                rsa.generate_private_key(public_exponent=65537, key_size=2048),
                x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "s3")]),
            ),
            "s3",
            "must be EC P-256",
            id="rsa-key",
        ),
        pytest.param(
            lambda key: _csr(
                ec.generate_private_key(ec.SECP384R1()),
                x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "s3")]),
            ),
            "s3",
            "must be EC P-256",
            id="p384-key",
        ),
        pytest.param(
            lambda key: station_csr_build(key, "other-station"),
            "s3",
            "must be CN=s3 alone",
            id="other-name",
        ),
        pytest.param(
            lambda key: _csr(
                key,
                x509.Name(
                    [
                        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "CardForge"),
                        x509.NameAttribute(NameOID.COMMON_NAME, "s3"),
                    ]
                ),
            ),
            "s3",
            "must be CN=s3 alone",
            id="extra-attribute",
        ),
        pytest.param(
            lambda key: station_csr_build(key, "s 3"),
            "s 3",
            "letters, digits",
            id="bad-station-name",
        ),
        pytest.param(lambda key: b"not a request", "s3", "not a certificate request", id="junk"),
        pytest.param(
            lambda key: key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
            "s3",
            "this is a private key",
            id="private-key",
        ),
    ],
)
def test_a_request_that_is_not_the_stations_own_is_refused(
    pki, station_key, make_csr, station_name, message
):
    with pytest.raises(ValidationFailed, match=message):
        station_certificate_issue(station_name=station_name, csr_der_or_pem=make_csr(station_key))
    assert not Certificate.objects.filter(profile="encoder-station").exists()
    assert not AuditEvent.objects.filter(event=EventType.STATION_CERTIFICATE_ISSUED).exists()


def test_card_certificate_services_do_not_issue_station_certificates(
    pki, station_key, professional
):
    from pki.services.certificates import certificate_issue

    with pytest.raises(ValidationFailed, match="unknown certificate profile"):
        certificate_issue(
            public_key=station_key.public_key(),
            profile="encoder-station",
            professional=professional,
        )
