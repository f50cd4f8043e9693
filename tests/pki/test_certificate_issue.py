"""Every profile, both key backends, EC and RSA card keys: issued through the service, clean
under pkilint at WARNING (RFC 5280; ETSI EN 319 412 for the qualified one) and verified by
`openssl verify` against the chain."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from audit.events import EventType
from audit.models import AuditEvent
from config.errors import ValidationFailed
from pki import asn1
from pki.models import Certificate
from pki.profiles import END_ENTITY_PROFILES
from pki.services.certificates import certificate_issue
from tests.pki.chain import openssl_verify, public_pem
from tests.pki.lint import lint_etsi_cert, lint_pkix_cert

BACKENDS = [
    pytest.param("software", id="software"),
    pytest.param("pkcs11", id="pkcs11", marks=pytest.mark.softhsm),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("key_type", ["ec", "rsa"])
def test_every_profile_lints_clean_and_verifies(
    backend, key_type, pki, professional, subject_keys, tmp_path
):
    hierarchy = pki.for_backend(backend)
    key = subject_keys[key_type]
    for profile in END_ENTITY_PROFILES:
        ca = hierarchy.issuing_for(profile)
        issued = certificate_issue(
            public_key=key.public_key(), profile=profile, professional=professional, ca=ca
        )
        der = bytes(issued.der)
        assert lint_pkix_cert(der) == [], profile
        if profile == "hp-qualified-signature":
            detected, findings = lint_etsi_cert(der)
            assert detected == "QCP-N-QSCD-EIDAS-FINAL-CERTIFICATE"
            assert findings == []
        result = openssl_verify(tmp_path, ca, der)
        assert result.returncode == 0, (profile, result.stdout, result.stderr)
        certificate = x509.load_der_x509_certificate(der)
        certificate.verify_directly_issued_by(
            x509.load_der_x509_certificate(bytes(ca.certificate_der))
        )


@pytest.mark.parametrize("backend", BACKENDS)
def test_ca_and_responder_certificates_lint_clean_and_verify(backend, pki, tmp_path):
    hierarchy = pki.for_backend(backend)
    assert lint_pkix_cert(bytes(hierarchy.root.certificate_der)) == []
    for ca in (hierarchy.authentication, hierarchy.qualified):
        assert lint_pkix_cert(bytes(ca.certificate_der)) == []
        responder = ca.ocsp_responders.get(is_current=True)
        der = bytes(responder.certificate.der)
        assert lint_pkix_cert(der) == []
        result = openssl_verify(tmp_path, ca, der, purpose="ocsphelper")
        assert result.returncode == 0, result.stderr


def _extension(certificate: x509.Certificate, oid: str) -> x509.Extension:
    return certificate.extensions.get_extension_for_oid(ObjectIdentifier(oid))


def test_subject_serial_extensions_and_urls(pki, professional, subject_keys, settings):
    issued = certificate_issue(
        public_key=subject_keys["ec"].public_key(),
        profile="hp-authentication",
        professional=professional,
    )
    certificate = x509.load_der_x509_certificate(bytes(issued.der))
    subject = certificate.subject
    assert subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value == "FR"
    assert subject.get_attributes_for_oid(NameOID.SURNAME)[0].value == "Lefèvre-Dupont"
    assert subject.get_attributes_for_oid(NameOID.GIVEN_NAME)[0].value == "Hélène"
    assert subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Hélène Lefèvre-Dupont"
    assert subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == (
        "Hôpital Saint-Louis"
    )
    assert subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)[0].value == (
        f"RP:FR-{professional.rpps}"
    )
    # RFC 5280 §4.1.2.2 with CA/B's 64 bits of randomness: a positive serial of at least 64 bits.
    assert certificate.serial_number.bit_length() >= 64
    assert int(issued.serial, 16) == certificate.serial_number
    assert len(issued.serial) % 2 == 0
    ca = pki.software.authentication
    ca_certificate = x509.load_der_x509_certificate(bytes(ca.certificate_der))
    aki = certificate.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = ca_certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest
    base = settings.CARDFORGE_PKI_BASE_URL
    crldp = certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert crldp[0].full_name[0].value == f"{base}/pki/crl/authentication.crl"
    aia = certificate.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    assert {(d.access_method._name, d.access_location.value) for d in aia} == {
        ("OCSP", f"{base}/pki/ocsp/authentication/"),
        ("caIssuers", f"{base}/pki/ca/authentication.crt"),
    }
    key_usage = certificate.extensions.get_extension_for_class(x509.KeyUsage)
    assert key_usage.critical
    assert key_usage.value.digital_signature
    assert not key_usage.value.content_commitment
    eku = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    policies = certificate.extensions.get_extension_for_class(x509.CertificatePolicies).value
    assert [p.policy_identifier.dotted_string for p in policies] == [settings.PKI_POLICY_OID]
    assert issued.card_slot == "9A"
    assert issued.status == Certificate.Status.VALID
    assert issued.fingerprint_sha256 == __import__("hashlib").sha256(bytes(issued.der)).hexdigest()


def test_qualified_signature_profile_content(pki, professional, subject_keys, settings):
    issued = certificate_issue(
        public_key=subject_keys["rsa"].public_key(),
        profile="hp-qualified-signature",
        professional=professional,
        slot="9c",
    )
    assert issued.ca == pki.software.qualified
    certificate = x509.load_der_x509_certificate(bytes(issued.der))
    key_usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    assert key_usage.content_commitment
    assert not (key_usage.digital_signature)
    assert not (key_usage.key_encipherment)
    with pytest.raises(x509.ExtensionNotFound):
        certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    policies = certificate.extensions.get_extension_for_class(x509.CertificatePolicies).value
    assert [p.policy_identifier.dotted_string for p in policies] == [
        "0.4.0.194112.1.2",
        settings.PKI_POLICY_OID,
    ]
    qc = _extension(certificate, asn1.ID_PE_QC_STATEMENTS)
    assert not qc.critical
    statements = asn1.parse_qc_statements(qc.value.value)
    assert set(statements) == {
        asn1.ID_QCS_PKIX_QC_SYNTAX_V2,
        asn1.ID_ETSI_QCS_QC_COMPLIANCE,
        asn1.ID_ETSI_QCS_QC_SSCD,
        asn1.ID_ETSI_QCS_QC_TYPE,
        asn1.ID_ETSI_QCS_QC_PDS,
    }
    assert settings.PKI_QCPDS_URL.encode() in statements[asn1.ID_ETSI_QCS_QC_PDS]
    admission = _extension(certificate, asn1.ID_ISISMTT_AT_ADMISSION)
    assert not admission.critical
    (entry,) = admission.value
    assert entry.naming_authority.text.startswith("RPPS")
    (info,) = entry.profession_infos
    assert info.profession_items == ["Physician"]
    assert info.registration_number == professional.rpps


@pytest.mark.parametrize(
    ("key_type", "expected"), [("ec", "key_agreement"), ("rsa", "key_encipherment")]
)
def test_encryption_key_usage_follows_the_key(pki, professional, subject_keys, key_type, expected):
    issued = certificate_issue(
        public_key=subject_keys[key_type].public_key(),
        profile="hp-encryption",
        professional=professional,
    )
    certificate = x509.load_der_x509_certificate(bytes(issued.der))
    key_usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    assert getattr(key_usage, expected)
    assert not key_usage.digital_signature
    assert issued.card_slot == "9D"


def test_card_authentication_has_piv_card_auth_eku(pki, professional, subject_keys):
    issued = certificate_issue(
        public_key=public_pem(subject_keys["ec"]),
        profile="hp-card-authentication",
        professional=professional,
    )
    certificate = x509.load_der_x509_certificate(bytes(issued.der))
    eku = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert [oid.dotted_string for oid in eku] == [asn1.ID_PIV_CARD_AUTH]
    assert issued.card_slot == "9E"


def test_issue_records_the_row_and_one_audit_event(pki, professional, subject_keys, user_with_role):
    from accounts.roles import Role

    officer = user_with_role(Role.ADMINISTRATOR)
    issued = certificate_issue(
        public_key=subject_keys["ec"].public_key(),
        profile="hp-authentication",
        professional=professional,
        by=officer,
    )
    event = AuditEvent.objects.for_object(issued).get()
    assert event.event == EventType.CERTIFICATE_ISSUED
    assert event.actor == officer.username
    assert event.payload["serial"] == issued.serial
    assert event.payload["profile"] == "hp-authentication"
    assert event.payload["professional"] == professional.rpps
    assert issued.issued_by == officer
    assert list(Certificate.objects.for_professional(professional)) == [issued]


def test_card_is_recorded_as_a_generic_reference(pki, professional, subject_keys, user_with_role):
    card_like = user_with_role(None)  # any saved model instance stands for a card
    issued = certificate_issue(
        public_key=subject_keys["ec"].public_key(),
        profile="hp-authentication",
        professional=professional,
        card=card_like,
    )
    assert issued.card == card_like
    assert list(Certificate.objects.for_card(card_like)) == [issued]


def test_certificate_never_outlives_its_issuer(pki, professional, subject_keys, settings):
    settings.PKI_CERTIFICATE_VALIDITY_DAYS = 100 * 365
    issued = certificate_issue(
        public_key=subject_keys["ec"].public_key(),
        profile="hp-authentication",
        professional=professional,
    )
    assert issued.not_after == pki.software.authentication.not_after


BAD_KEYS = {
    "garbage": (b"not a key", "not a public key"),
    "private": (
        b"-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n",
        "private key",
    ),
    "bad_pem": (
        b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        "not a PEM public key",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_KEYS))
def test_bad_public_key_input_names_the_field_and_changes_nothing(pki, professional, case):
    data, message = BAD_KEYS[case]
    before = (Certificate.objects.count(), AuditEvent.objects.count())
    with pytest.raises(ValidationFailed) as caught:
        certificate_issue(public_key=data, profile="hp-authentication", professional=professional)
    assert caught.value.errors[0].field == "public_key"
    assert message in caught.value.errors[0].message
    assert (Certificate.objects.count(), AuditEvent.objects.count()) == before


@pytest.mark.parametrize(
    ("make_key", "message"),
    [
        (lambda: ec.generate_private_key(ec.SECP521R1()).public_key(), "secp521r1"),
        (lambda: rsa.generate_private_key(65537, 1024).public_key(), "RSA-1024"),
        (lambda: rsa.generate_private_key(3, 2048).public_key(), "exponent"),
    ],
)
def test_unsupported_keys_are_refused(pki, professional, make_key, message):
    with pytest.raises(ValidationFailed) as caught:
        certificate_issue(
            public_key=make_key(), profile="hp-authentication", professional=professional
        )
    assert caught.value.errors[0].field == "public_key"
    assert message in caught.value.errors[0].message


def test_wrong_profile_slot_ca_and_professional_are_refused(pki, professional, subject_keys):
    key = subject_keys["ec"].public_key()
    cases = [
        ({"profile": "root-ca"}, "profile"),
        ({"profile": "nonsense"}, "profile"),
        ({"profile": "hp-authentication", "slot": "9C"}, "slot"),
        ({"profile": "hp-qualified-signature", "ca": pki.software.authentication}, "ca"),
    ]
    for kwargs, field in cases:
        with pytest.raises(ValidationFailed) as caught:
            certificate_issue(public_key=key, professional=professional, **kwargs)
        assert caught.value.errors[0].field == field
    with pytest.raises(ValidationFailed) as caught:
        certificate_issue(public_key=key, profile="hp-authentication", professional=None)
    assert caught.value.errors[0].field == "professional"
    assert Certificate.objects.filter(professional=professional).count() == 0


def test_long_names_fit_the_x520_bounds(pki, professional, subject_keys):
    professional.first_name = "Marie-Christine Anne-Sophie Bénédicte"
    professional.last_name = "de La Tour d'Auvergne-Lauraguais de Montmorency"
    professional.save()
    issued = certificate_issue(
        public_key=subject_keys["ec"].public_key(),
        profile="hp-qualified-signature",
        professional=professional,
    )
    certificate = x509.load_der_x509_certificate(bytes(issued.der))
    common_name = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert len(common_name) <= 64
    assert common_name.startswith("M. de La Tour")
    assert lint_pkix_cert(bytes(issued.der)) == []


def test_a_cards_set_is_issued_at_once(pki, professional, subject_keys, user_with_role):
    from pki.services.certificates import CertificateRequest, certificates_issue

    card = user_with_role(None)
    rows = certificates_issue(
        requests=[
            CertificateRequest(subject_keys["ec"].public_key(), "hp-authentication", "9A"),
            CertificateRequest(subject_keys["ec"].public_key(), "hp-qualified-signature", "9C"),
            CertificateRequest(subject_keys["rsa"].public_key(), "hp-encryption", "9D"),
            CertificateRequest(subject_keys["ec"].public_key(), "hp-card-authentication"),
        ],
        professional=professional,
        card=card,
    )
    assert [row.card_slot for row in rows] == ["9A", "9C", "9D", "9E"]
    assert all(row.pk for row in rows)
    assert {row.ca for row in rows} == {pki.software.authentication, pki.software.qualified}
    assert Certificate.objects.for_card(card).count() == 4
    events = AuditEvent.objects.filter(event=EventType.CERTIFICATE_ISSUED)
    assert sorted(events.values_list("object_id", flat=True)) == sorted(str(r.pk) for r in rows)


def test_a_cards_set_is_all_or_nothing(pki, professional, subject_keys):
    from pki.services.certificates import CertificateRequest, certificates_issue

    with pytest.raises(ValidationFailed) as caught:
        certificates_issue(
            requests=[
                CertificateRequest(subject_keys["ec"].public_key(), "hp-authentication"),
                CertificateRequest(b"junk", "hp-qualified-signature"),
            ],
            professional=professional,
        )
    assert caught.value.errors[0].field == "requests.1.public_key"
    assert not Certificate.objects.filter(professional=professional).exists()
    with pytest.raises(ValidationFailed):
        certificates_issue(requests=[], professional=professional)


@pytest.mark.softhsm
def test_a_new_current_ca_is_used_at_once(pki, professional, subject_keys):
    from pki.models import CertificateAuthority

    key = subject_keys["ec"].public_key()
    first = certificate_issue(
        public_key=key, profile="hp-authentication", professional=professional
    )
    assert first.ca == pki.software.authentication
    CertificateAuthority.objects.filter(pk=pki.software.authentication.pk).update(is_current=False)
    rotated = CertificateAuthority.objects.get(pk=pki.pkcs11.authentication.pk)
    rotated.is_current = True
    rotated.save()  # a rotation in this process is seen by the next issuance
    second = certificate_issue(
        public_key=key, profile="hp-authentication", professional=professional
    )
    assert second.ca == rotated


def test_a_changed_pds_url_shows_in_the_next_qualified_certificate(pki, professional, settings):
    """The QCStatements encoding is cached by its inputs, never past a settings change."""

    def pds(certificate_row) -> bytes:
        certificate = x509.load_der_x509_certificate(bytes(certificate_row.der))
        statements = asn1.parse_qc_statements(
            _extension(certificate, asn1.ID_PE_QC_STATEMENTS).value.value
        )
        return statements[asn1.ID_ETSI_QCS_QC_PDS]

    public_key = ec.generate_private_key(ec.SECP256R1()).public_key()
    issue = {"public_key": public_key, "profile": "hp-qualified-signature"}
    assert settings.PKI_QCPDS_URL.encode() in pds(
        certificate_issue(**issue, professional=professional)
    )
    settings.PKI_QCPDS_URL = "https://pds.example.net/cardforge/en"
    assert b"https://pds.example.net/cardforge/en" in pds(
        certificate_issue(**issue, professional=professional)
    )
