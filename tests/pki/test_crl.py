"""CRLs: parsed by openssl and cryptography, clean under pkilint, served over HTTP."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from django.utils import timezone

from pki.der import crl_entry_der, encode_time
from pki.models import Certificate, CertificateRevocationList
from pki.services.certificates import certificate_issue
from pki.services.crl import crl_generate
from pki.services.revocation import certificate_revoke
from tests.pki.chain import write_chain, write_pem
from tests.pki.conftest import openssl
from tests.pki.lint import lint_crl

BACKENDS = [
    pytest.param("software", id="software"),
    pytest.param("pkcs11", id="pkcs11", marks=pytest.mark.softhsm),
]


def _issue(hierarchy, professional, key, profile="hp-authentication") -> Certificate:
    return certificate_issue(
        public_key=key.public_key(),
        profile=profile,
        professional=professional,
        ca=hierarchy.issuing_for(profile),
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_openssl_lists_revoked_serials_with_reasons(
    backend, pki, professional, subject_keys, tmp_path
):
    hierarchy = pki.for_backend(backend)
    compromised = _issue(hierarchy, professional, subject_keys["ec"])
    held = _issue(hierarchy, professional, subject_keys["rsa"], "hp-encryption")
    plain = _issue(hierarchy, professional, subject_keys["ec"], "hp-card-authentication")
    certificate_revoke(certificate=compromised, reason="keyCompromise")
    certificate_revoke(certificate=held, reason="certificateHold")
    certificate_revoke(certificate=plain, reason="unspecified")
    crl = crl_generate(ca=hierarchy.authentication)
    assert crl.entries == 3

    crl_file = tmp_path / "ca.crl"
    crl_file.write_bytes(bytes(crl.der))
    text = openssl("crl", "-inform", "DER", "-in", str(crl_file), "-noout", "-text").stdout.decode()
    assert f"Serial Number: {compromised.serial}" in text
    assert f"Serial Number: {held.serial}" in text
    assert f"Serial Number: {plain.serial}" in text
    assert "Key Compromise" in text
    assert "Certificate Hold" in text
    assert f"X509v3 CRL Number: \n                {crl.number}" in text

    # The CRL verifies against its CA, with openssl and with cryptography.
    root, intermediate = write_chain(tmp_path, hierarchy.authentication)
    checked = openssl(
        "crl",
        "-inform",
        "DER",
        "-in",
        str(crl_file),
        "-noout",
        "-CAfile",
        str(intermediate),
        check=False,
    )
    assert b"verify OK" in checked.stderr + checked.stdout
    parsed = x509.load_der_x509_crl(bytes(crl.der))
    issuer = x509.load_der_x509_certificate(bytes(hierarchy.authentication.certificate_der))
    assert parsed.is_signature_valid(issuer.public_key())
    assert parsed.issuer == issuer.subject
    reasons = {}
    for entry in parsed:
        try:
            reasons[entry.serial_number] = entry.extensions.get_extension_for_class(
                x509.CRLReason
            ).value.reason
        except x509.ExtensionNotFound:
            reasons[entry.serial_number] = None
    assert reasons == {
        compromised.serial_number: x509.ReasonFlags.key_compromise,
        held.serial_number: x509.ReasonFlags.certificate_hold,
        plain.serial_number: None,  # RFC 5280 §5.3.1: no reasonCode for unspecified
    }
    assert lint_crl(bytes(crl.der)) == []

    # And a relying party checking the CRL refuses the revoked certificate.
    crl_pem = tmp_path / "crl.pem"
    crl_pem.write_text(openssl("crl", "-inform", "DER", "-in", str(crl_file)).stdout.decode())
    leaf = write_pem(tmp_path / "leaf.pem", bytes(compromised.der))
    good = write_pem(
        tmp_path / "good.pem", bytes(_issue(hierarchy, professional, subject_keys["ec"]).der)
    )
    refused = openssl(
        "verify",
        "-crl_check",
        "-CAfile",
        str(root),
        "-untrusted",
        str(intermediate),
        "-CRLfile",
        str(crl_pem),
        str(leaf),
        check=False,
    )
    assert refused.returncode != 0
    assert b"certificate revoked" in refused.stdout + refused.stderr
    accepted = openssl(
        "verify",
        "-crl_check",
        "-CAfile",
        str(root),
        "-untrusted",
        str(intermediate),
        "-CRLfile",
        str(crl_pem),
        str(good),
        check=False,
    )
    assert accepted.returncode == 0, accepted.stderr


def test_crl_numbers_increase_and_extensions_are_rfc5280(pki):
    ca = pki.software.qualified
    first = crl_generate(ca=ca)
    second = crl_generate(ca=ca)
    assert second.number == first.number + 1
    ca.refresh_from_db()
    assert ca.crl_number == second.number
    parsed = x509.load_der_x509_crl(bytes(second.der))
    assert parsed.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == (
        second.number
    )
    aki = parsed.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier.hex() == ca.subject_key_identifier
    assert parsed.next_update_utc - parsed.last_update_utc == dt.timedelta(hours=24)
    assert lint_crl(bytes(pki.software.root.current_crl.der)) == []


def test_generation_requested_before_a_newer_crl_is_skipped(pki):
    ca = pki.software.authentication
    asked = timezone.now()
    newer = crl_generate(ca=ca)
    assert crl_generate(ca=ca, requested_at=asked).number == newer.number
    assert crl_generate(ca=ca, requested_at=timezone.now()).number == newer.number + 1


def test_expired_entries_leave_after_one_crl_period(pki, professional, subject_keys, settings):
    issued = _issue(pki.software, professional, subject_keys["ec"])
    certificate_revoke(certificate=issued, reason="superseded")
    long_ago = timezone.now() - dt.timedelta(days=400)
    Certificate.objects.filter(pk=issued.pk).update(
        not_before=long_ago,
        not_after=timezone.now() - dt.timedelta(hours=settings.PKI_CRL_VALIDITY_HOURS - 1),
    )
    assert crl_generate(ca=pki.software.authentication).entries == 1
    Certificate.objects.filter(pk=issued.pk).update(
        not_after=timezone.now() - dt.timedelta(hours=settings.PKI_CRL_VALIDITY_HOURS + 1)
    )
    assert crl_generate(ca=pki.software.authentication).entries == 0


def test_crl_entry_encoding_matches_cryptography():
    moment = dt.datetime(2031, 5, 6, 7, 8, 9, tzinfo=dt.UTC)
    entry = crl_entry_der(0x00FF_1234, moment, 1)
    built = (
        x509.RevokedCertificateBuilder()
        .serial_number(0x00FF_1234)
        .revocation_date(moment)
        .add_extension(x509.CRLReason(x509.ReasonFlags.key_compromise), critical=False)
        .build()
    )
    assert built.serial_number == 0x00FF_1234
    assert entry.hex().startswith("30")
    assert encode_time(moment) == b"\x17\x0d" + b"310506070809Z"
    assert encode_time(moment.replace(year=2050)) == b"\x18\x0f" + b"20500506070809Z"


def test_crl_and_ca_certificate_endpoints(pki, client):
    response = client.get("/pki/crl/authentication.crl")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pkix-crl"
    assert bytes(response.content) == bytes(
        CertificateRevocationList.objects.get(ca=pki.software.authentication).der
    )
    assert "Expires" in response
    assert "Last-Modified" in response
    response = client.get("/pki/ca/root.crt")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pkix-cert"
    assert (
        x509.load_der_x509_certificate(response.content).subject
        == x509.load_der_x509_certificate(bytes(pki.software.root.certificate_der)).subject
    )
    assert client.get("/pki/crl/nope.crl").status_code == 404
    assert client.get("/pki/ca/nope.crt").status_code == 404
    assert client.post("/pki/crl/authentication.crl").status_code == 405
